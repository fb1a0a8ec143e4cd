/* test_eigen.c — eigensolver tests (placeholder). */
typedef int test_eigen_placeholder;
