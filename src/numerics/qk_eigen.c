/* qk_eigen.c — symmetric Jacobi eigensolver and one-sided Jacobi SVD (placeholder). */
#include "qk.h"
typedef int qk__eigen_placeholder;
