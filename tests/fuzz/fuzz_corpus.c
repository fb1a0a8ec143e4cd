/* fuzz_corpus.c — libFuzzer harness for the corpus reader of `qkspec train`
 * (src/cli/cmd_train.c): byte 0 chooses bytes or words (bit 0), byte 1 the
 * vocabulary limit of the word level, the rest is the text. Every token id must lie
 * inside the vocabulary the tokeniser reported (the model refuses any other). */
#include "../../src/cli/cmd_train.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The split the trainer would make (sequences of 8 tokens), and every id inside the
 * vocabulary the tokeniser reported: the forward pass would refuse anything else. */
static void check_ids(long n, int V)
{
    long ntrain;
    qk_train_split(n, 0.25f, 8, &ntrain);
    for (long i = 0; i < n; i++)
        if (g_tokens[i] < 0 || g_tokens[i] >= V) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    int words = data[0] & 1, vocab_max = 2 + data[1];
    const unsigned char *text = data + 2;
    size_t n = size - 2;
    long ntok;
    int V = 256;
    if (words) {
        ntok = words_to_ids(text, n, g_tokens, vocab_max, &V);
        if (ntok < 0) return 0;
        if (V < 1 || V > vocab_max) __builtin_trap();
    } else {
        for (size_t i = 0; i < n; i++) g_tokens[i] = text[i];
        ntok = (long)n;
    }
    check_ids(ntok, V);
    return 0;
}
