typedef int test_model_placeholder;
