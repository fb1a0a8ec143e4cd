#!/usr/bin/env python3
"""Writes src/numerics/qk_selftest_data.h: the known answers of qk_selftest() (qk.h).

The run-time self-test re-runs a few small golden-vector cases through the library so
that a build made with a user's own flags proves, on the board itself, that the
routines most sensitive to contraction and reassociation (LayerNorm, the softmax
backward pass, the polar-method normals, erf/erfc, exp) still give the golden bits.
The answers are copied here from vectors/*.qkv, whose values the float64 independence
check (tools/check_vectors.py, SPEC §3) backs; they are never produced by the code under
test. The suite regenerates this header and requires it to be unchanged.

    python3 tools/gen_selftest_data.py vectors > src/numerics/qk_selftest_data.h
Standard library only.
"""
import os
import sys


def read_cases(path):
    """{case name: {tensor name: (dtype, dims, [hex words])}} of one vector file."""
    cases, cur, tensor, need = {}, None, None, 0
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].split()
            if not line:
                continue
            if need:
                tensor[2].extend(line)
                need -= len(line)
                continue
            if line[0] == 'case':
                cur = cases.setdefault(line[1], {})
            elif line[0] in ('in', 'out'):
                dims = [int(x) for x in line[3:]]
                n = 1
                for x in dims:
                    n *= x
                tensor = (line[2], dims, [])
                cur[line[1]] = tensor
                need = n
    return cases


def emit(name, ctype, words, every=1):
    words = words[::every]
    out = ['static const %s %s[%d] = {' % (ctype, name, len(words))]
    suffix = 'u' if ctype == 'uint32_t' else 'ull'
    per = 6 if ctype == 'uint32_t' else 4
    for i in range(0, len(words), per):
        out.append('    ' + ', '.join('0x%s%s' % (w, suffix) for w in words[i:i + per]) + ',')
    out.append('};')
    return '\n'.join(out)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else 'vectors'
    ln = read_cases(os.path.join(d, 'layernorm.qkv'))
    sm = read_cases(os.path.join(d, 'softmax.qkv'))
    rng = read_cases(os.path.join(d, 'rng.qkv'))
    mt = read_cases(os.path.join(d, 'math.qkv'))
    parts = ['/* qk_selftest_data.h — private: known answers of qk_selftest(), copied from the',
             ' * golden vectors by tools/gen_selftest_data.py (do not edit; the suite checks it). */',
             '#ifndef QK_SELFTEST_DATA_H', '#define QK_SELFTEST_DATA_H', '#include <stdint.h>', '']
    c = ln['layernorm_5x37']
    parts.append('/* layernorm_5x37 (vectors/layernorm.qkv) */')
    for t in ('x', 'gamma', 'beta', 'eps', 'y', 'mean', 'rstd'):
        parts.append(emit('qk__st_ln_' + t, 'uint32_t', c[t][2]))
    c = sm['softmax_bwd_7x9_c1']
    parts.append('/* softmax_bwd_7x9_c1 (vectors/softmax.qkv) */')
    for t in ('y', 'dy', 'dx0', 'dx'):
        parts.append(emit('qk__st_smb_' + t, 'uint32_t', c[t][2]))
    c = rng['rng_seed_42']
    parts.append('/* rng_seed_42, first 16 normals (vectors/rng.qkv) */')
    parts.append(emit('qk__st_normal', 'uint64_t', c['normal'][2][:16]))
    for op, every in (('erf', 25), ('erfc', 25), ('exp', 25)):
        c = mt[op + '_sweep']
        parts.append('/* %s_sweep, every %dth input (vectors/math.qkv) */' % (op, every))
        parts.append(emit('qk__st_%s_x' % op, 'uint64_t', c['x'][2], every))
        parts.append(emit('qk__st_%s_y' % op, 'uint64_t', c['y'][2], every))
    c = mt['expf_sweep']
    parts.append('/* expf_sweep, every 50th input (vectors/math.qkv) */')
    parts.append(emit('qk__st_expf_x', 'uint32_t', c['x'][2], 50))
    parts.append(emit('qk__st_expf_y', 'uint32_t', c['y'][2], 50))
    parts += ['', '#endif', '']
    sys.stdout.write('\n'.join(parts))


if __name__ == '__main__':
    main()
