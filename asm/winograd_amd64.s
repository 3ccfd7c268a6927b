//go:build !purego

#include "textflag.h"

// The AVX2 Winograd transforms of winograd.go. Each takes a number of
// quads (groups of four tiles) and does them eight tiles per iteration in
// Y registers (one register holds one value ξ of eight tiles), then a last
// odd quad in X registers, so that maps only 8 wide (four tiles per row)
// run vectorised too. They compute exactly the expressions of the generic
// kernels, in the same order and without FMA, so their results are
// bit-identical to them.

// ROW8 loads 16+2 values of the row at P (columns 2t..2t+3 of eight
// tiles), splits them into the four columns c0..c3 of the tiles
// (c_j = P[2t+j]) and leaves f = (c0 − c2, c1 + c2, c2 − c1, c1 − c3) in
// f0..f3; t0 and t1 are clobbered. VSHUFPS picks the even (0x88) or odd
// (0xDD) columns within each 128-bit lane and VPERMPD $0xD8 puts the
// lanes' halves back in tile order.
#define ROW8(P, f0, f1, f2, f3, t0, t1) \
	VMOVUPS (P), t0; \
	VMOVUPS 32(P), t1; \
	VSHUFPS $0x88, t1, t0, f0; \
	VSHUFPS $0xDD, t1, t0, f1; \
	VMOVUPS 8(P), t0; \
	VMOVUPS 40(P), t1; \
	VSHUFPS $0x88, t1, t0, f2; \
	VSHUFPS $0xDD, t1, t0, f3; \
	VPERMPD $0xD8, f0, f0; \
	VPERMPD $0xD8, f1, f1; \
	VPERMPD $0xD8, f2, f2; \
	VPERMPD $0xD8, f3, f3; \
	ROWF(f0, f1, f2, f3, t0)

// ROW4 is ROW8 for four tiles in X registers: 8+2 values, no lanes.
#define ROW4(P, f0, f1, f2, f3, t0, t1) \
	VMOVUPS (P), t0; \
	VMOVUPS 16(P), t1; \
	VSHUFPS $0x88, t1, t0, f0; \
	VSHUFPS $0xDD, t1, t0, f1; \
	VMOVUPS 8(P), t0; \
	VMOVUPS 24(P), t1; \
	VSHUFPS $0x88, t1, t0, f2; \
	VSHUFPS $0xDD, t1, t0, f3; \
	ROWF(f0, f1, f2, f3, t0)

// ROWF turns the columns c0..c3 in f0..f3 into f = (c0 − c2, c1 + c2,
// c2 − c1, c1 − c3), the columns half of the input transform.
#define ROWF(f0, f1, f2, f3, t0) \
	VSUBPS  f2, f0, f0; \
	VADDPS  f2, f1, t0; \
	VSUBPS  f1, f2, f2; \
	VSUBPS  f3, f1, f3; \
	VMOVAPS t0, f1

// The stores of the input transform, v[ξ·vs+t] for ξ = 4r + j, with the
// rows f_i of d B in registers: V12 (ξ 4..11) from f1 (a0..a3) and f2
// (b0..b3), V0 (ξ 0..3) from f0 (c0..c3) and f2, V3 (ξ 12..15) from f1 and
// f3 (c0..c3). DI = &v[t], DX = &v[8·vs+t], BX = vs, R12 = 3·vs,
// R13 = 5·vs, R14 = 7·vs (bytes); t is a scratch register.
#define V12(a0, a1, a2, a3, b0, b1, b2, b3, t) \
	VADDPS  b0, a0, t; \
	VMOVUPS t, (DI)(BX*4); \
	VADDPS  b1, a1, t; \
	VMOVUPS t, (DI)(R13*1); \
	VADDPS  b2, a2, t; \
	VMOVUPS t, (DI)(R12*2); \
	VADDPS  b3, a3, t; \
	VMOVUPS t, (DI)(R14*1); \
	VSUBPS  a0, b0, t; \
	VMOVUPS t, (DX); \
	VSUBPS  a1, b1, t; \
	VMOVUPS t, (DX)(BX*1); \
	VSUBPS  a2, b2, t; \
	VMOVUPS t, (DX)(BX*2); \
	VSUBPS  a3, b3, t; \
	VMOVUPS t, (DX)(R12*1)

#define V0(c0, c1, c2, c3, b0, b1, b2, b3, t) \
	VSUBPS  b0, c0, t; \
	VMOVUPS t, (DI); \
	VSUBPS  b1, c1, t; \
	VMOVUPS t, (DI)(BX*1); \
	VSUBPS  b2, c2, t; \
	VMOVUPS t, (DI)(BX*2); \
	VSUBPS  b3, c3, t; \
	VMOVUPS t, (DI)(R12*1)

#define V3(a0, a1, a2, a3, c0, c1, c2, c3, t) \
	VSUBPS  c0, a0, t; \
	VMOVUPS t, (DX)(BX*4); \
	VSUBPS  c1, a1, t; \
	VMOVUPS t, (DX)(R13*1); \
	VSUBPS  c2, a2, t; \
	VMOVUPS t, (DX)(R12*2); \
	VSUBPS  c3, a3, t; \
	VMOVUPS t, (DX)(R14*1)

// func winoInputAVX2(v *float32, vs int, d *float32, ld, quads int)
TEXT ·winoInputAVX2(SB), NOSPLIT, $0-40
	MOVQ v+0(FP), DI
	MOVQ vs+8(FP), BX
	SHLQ $2, BX                   // BX = vs in bytes
	MOVQ d+16(FP), R8             // R8..R11: the four rows d0..d3
	MOVQ ld+24(FP), AX
	SHLQ $2, AX                   // AX = ld in bytes
	LEAQ (R8)(AX*1), R9
	LEAQ (R8)(AX*2), R10
	LEAQ (R9)(AX*2), R11
	MOVQ quads+32(FP), CX
	LEAQ (BX)(BX*2), R12          // 3·vs
	LEAQ (BX)(BX*4), R13          // 5·vs
	LEAQ (R12)(BX*4), R14         // 7·vs
	LEAQ (DI)(BX*8), DX           // DX = &v[8·vs]

in8:
	CMPQ CX, $2
	JLT  in4
	ROW8(R9, Y0, Y1, Y2, Y3, Y12, Y13)                // f1
	ROW8(R10, Y4, Y5, Y6, Y7, Y12, Y13)               // f2
	V12(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y12)          // v[4..11] = f1 ± f2
	ROW8(R8, Y8, Y9, Y10, Y11, Y12, Y13)              // f0
	V0(Y8, Y9, Y10, Y11, Y4, Y5, Y6, Y7, Y12)         // v[0..3] = f0 - f2
	ROW8(R11, Y8, Y9, Y10, Y11, Y12, Y13)             // f3
	V3(Y0, Y1, Y2, Y3, Y8, Y9, Y10, Y11, Y12)         // v[12..15] = f1 - f3
	ADDQ $64, R8                  // next eight tiles: 16 columns on
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, R11
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $2, CX
	JMP  in8

in4:
	CMPQ CX, $1
	JLT  indone
	ROW4(R9, X0, X1, X2, X3, X12, X13)
	ROW4(R10, X4, X5, X6, X7, X12, X13)
	V12(X0, X1, X2, X3, X4, X5, X6, X7, X12)
	ROW4(R8, X8, X9, X10, X11, X12, X13)
	V0(X8, X9, X10, X11, X4, X5, X6, X7, X12)
	ROW4(R11, X8, X9, X10, X11, X12, X13)
	V3(X0, X1, X2, X3, X8, X9, X10, X11, X12)

indone:
	VZEROUPPER
	RET

// COLS loads m[j·ms], m[(4+j)·ms], m[(8+j)·ms], m[(12+j)·ms] of the tiles
// (addresses a0..a3) and leaves r0 = m0 + m1 + m2 and r1 = m1 − m2 − m3;
// t0 and t1 are clobbered.
#define COLS(a0, a1, a2, a3, r0, r1, t0, t1) \
	VMOVUPS a0, r0; \
	VMOVUPS a1, t0; \
	VMOVUPS a2, t1; \
	VADDPS  t0, r0, r0; \
	VADDPS  t1, r0, r0; \
	VSUBPS  t1, t0, r1; \
	VSUBPS  a3, r1, r1

// ALLCOLS runs COLS for j = 0..3 at R8 = &m[t] and DX = &m[8·ms+t]
// (BX = ms, R12 = 3·ms, R13 = 5·ms, R14 = 7·ms in bytes): r0 of j in
// x0..x3 (output row 0), r1 in y0..y3 (row 1).
#define ALLCOLS(x0, x1, x2, x3, y0, y1, y2, y3, t0, t1) \
	COLS((R8), (R8)(BX*4), (DX), (DX)(BX*4), x0, y0, t0, t1); \
	COLS((R8)(BX*1), (R8)(R13*1), (DX)(BX*1), (DX)(R13*1), x1, y1, t0, t1); \
	COLS((R8)(BX*2), (R8)(R12*2), (DX)(BX*2), (DX)(R12*2), x2, y2, t0, t1); \
	COLS((R8)(R12*1), (R8)(R14*1), (DX)(R12*1), (DX)(R14*1), x3, y3, t0, t1)

// OUTROW finishes one output row from r[j] in x0..x3 (r = Aᵀ M, row i):
// t0 = x0 + x1 + x2 + bias (columns 2t), t1 = x1 − x2 − x3 + bias
// (columns 2t+1), bias in b; then t2 and t3 hold them interleaved by
// pairs of tiles (VUNPCKLPS/VUNPCKHPS, within each 128-bit lane).
#define OUTROW(x0, x1, x2, x3, b, t0, t1, t2, t3) \
	VADDPS    x1, x0, t0; \
	VADDPS    x2, t0, t0; \
	VADDPS    b, t0, t0; \
	VSUBPS    x2, x1, t1; \
	VSUBPS    x3, t1, t1; \
	VADDPS    b, t1, t1; \
	VUNPCKLPS t1, t0, t2; \
	VUNPCKHPS t1, t0, t3

// STORE8 writes the 16 columns of eight tiles from OUTROW's t2, t3 at P.
#define STORE8(P, t0, t1, t2, t3) \
	VPERM2F128 $0x20, t3, t2, t0; \
	VPERM2F128 $0x31, t3, t2, t1; \
	VMOVUPS    t0, (P); \
	VMOVUPS    t1, 32(P)

// STORE4 writes the 8 columns of four tiles from OUTROW's t2, t3 at P.
#define STORE4(P, t2, t3) \
	VMOVUPS t2, (P); \
	VMOVUPS t3, 16(P)

// func winoOutputAVX2(y0, y1, m *float32, ms, quads int, bias float32)
TEXT ·winoOutputAVX2(SB), NOSPLIT, $0-44
	MOVQ y0+0(FP), DI
	MOVQ y1+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ ms+24(FP), BX
	SHLQ $2, BX                   // BX = ms in bytes
	MOVQ quads+32(FP), CX
	VBROADCASTSS bias+40(FP), Y15 // bias in every lane (X15 too)
	LEAQ (BX)(BX*2), R12          // 3·ms
	LEAQ (BX)(BX*4), R13          // 5·ms
	LEAQ (R12)(BX*4), R14         // 7·ms

out8:
	CMPQ CX, $2
	JLT  out4
	LEAQ (R8)(BX*8), DX           // DX = &m[8·ms+t]
	ALLCOLS(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9)
	OUTROW(Y0, Y1, Y2, Y3, Y15, Y8, Y9, Y10, Y11)
	STORE8(DI, Y8, Y9, Y10, Y11)  // y0[2t], y0[2t+1]
	OUTROW(Y4, Y5, Y6, Y7, Y15, Y8, Y9, Y10, Y11)
	STORE8(SI, Y8, Y9, Y10, Y11)  // y1[2t], y1[2t+1]
	ADDQ $32, R8                  // next eight tiles
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $2, CX
	JMP  out8

out4:
	CMPQ CX, $1
	JLT  outdone
	LEAQ (R8)(BX*8), DX
	ALLCOLS(X0, X1, X2, X3, X4, X5, X6, X7, X8, X9)
	OUTROW(X0, X1, X2, X3, X15, X8, X9, X10, X11)
	STORE4(DI, X10, X11)
	OUTROW(X4, X5, X6, X7, X15, X8, X9, X10, X11)
	STORE4(SI, X10, X11)

outdone:
	VZEROUPPER
	RET

// SPLIT8 loads 16 values of the row at P (columns 2t, 2t+1 of eight
// tiles) and leaves the even columns in a and the odd ones in c, tiles in
// order.
#define SPLIT8(P, a, c, t0, t1) \
	VMOVUPS (P), t0; \
	VMOVUPS 32(P), t1; \
	VSHUFPS $0x88, t1, t0, a; \
	VSHUFPS $0xDD, t1, t0, c; \
	VPERMPD $0xD8, a, a; \
	VPERMPD $0xD8, c, c

// SPLIT4 is SPLIT8 for four tiles in X registers.
#define SPLIT4(P, a, c, t0, t1) \
	VMOVUPS (P), t0; \
	VMOVUPS 16(P), t1; \
	VSHUFPS $0x88, t1, t0, a; \
	VSHUFPS $0xDD, t1, t0, c

// GRAD turns a0 = y0[2t], c0 = y0[2t+1] in r0, r1 and a1, c1 (of y1) in
// r4, r5 into the rows e0 = (a0, a0+c0, a0−c0, −c0) in r0..r3 and e1 in
// r4..r7 of dY Aᵀ, then stores m[j·ms+t] = e0[j], m[(4+j)·ms+t] =
// e0[j] + e1[j], m[(8+j)·ms+t] = e0[j] − e1[j], m[(12+j)·ms+t] = −e1[j]
// at DI = &m[t], DX = &m[8·ms+t] (BX, R12, R13, R14 as for V12). Negation
// flips the sign bit (XOR with sign in s), as Go's unary minus does.
#define GRAD(r0, r1, r2, r3, r4, r5, r6, r7, s, t) \
	VSUBPS  r1, r0, r2; \
	VXORPS  s, r1, r3; \
	VADDPS  r1, r0, r1; \
	VSUBPS  r5, r4, r6; \
	VXORPS  s, r5, r7; \
	VADDPS  r5, r4, r5; \
	VMOVUPS r0, (DI); \
	VMOVUPS r1, (DI)(BX*1); \
	VMOVUPS r2, (DI)(BX*2); \
	VMOVUPS r3, (DI)(R12*1); \
	VADDPS  r4, r0, t; \
	VMOVUPS t, (DI)(BX*4); \
	VADDPS  r5, r1, t; \
	VMOVUPS t, (DI)(R13*1); \
	VADDPS  r6, r2, t; \
	VMOVUPS t, (DI)(R12*2); \
	VADDPS  r7, r3, t; \
	VMOVUPS t, (DI)(R14*1); \
	VSUBPS  r4, r0, t; \
	VMOVUPS t, (DX); \
	VSUBPS  r5, r1, t; \
	VMOVUPS t, (DX)(BX*1); \
	VSUBPS  r6, r2, t; \
	VMOVUPS t, (DX)(BX*2); \
	VSUBPS  r7, r3, t; \
	VMOVUPS t, (DX)(R12*1); \
	VXORPS  s, r4, t; \
	VMOVUPS t, (DX)(BX*4); \
	VXORPS  s, r5, t; \
	VMOVUPS t, (DX)(R13*1); \
	VXORPS  s, r6, t; \
	VMOVUPS t, (DX)(R12*2); \
	VXORPS  s, r7, t; \
	VMOVUPS t, (DX)(R14*1)

DATA winoSign<>+0(SB)/4, $0x80000000
GLOBL winoSign<>(SB), RODATA|NOPTR, $4

// func winoOutputGradAVX2(m *float32, ms int, y0, y1 *float32, quads int)
TEXT ·winoOutputGradAVX2(SB), NOSPLIT, $0-40
	MOVQ m+0(FP), DI
	MOVQ ms+8(FP), BX
	SHLQ $2, BX                   // BX = ms in bytes
	MOVQ y0+16(FP), R8
	MOVQ y1+24(FP), R9
	MOVQ quads+32(FP), CX
	VBROADCASTSS winoSign<>(SB), Y15 // the sign bit in every lane
	LEAQ (BX)(BX*2), R12          // 3·ms
	LEAQ (BX)(BX*4), R13          // 5·ms
	LEAQ (R12)(BX*4), R14         // 7·ms
	LEAQ (DI)(BX*8), DX           // DX = &m[8·ms+t]

grad8:
	CMPQ CX, $2
	JLT  grad4
	SPLIT8(R8, Y0, Y1, Y12, Y13)  // a0 = y0[2t], c0 = y0[2t+1]
	SPLIT8(R9, Y4, Y5, Y12, Y13)  // a1 = y1[2t], c1 = y1[2t+1]
	GRAD(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y15, Y8)
	ADDQ $64, R8                  // next eight tiles
	ADDQ $64, R9
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $2, CX
	JMP  grad8

grad4:
	CMPQ CX, $1
	JLT  graddone
	SPLIT4(R8, X0, X1, X12, X13)
	SPLIT4(R9, X4, X5, X12, X13)
	GRAD(X0, X1, X2, X3, X4, X5, X6, X7, X15, X8)

graddone:
	VZEROUPPER
	RET

// func deinterleaveAVX2(even, odd, src *float32, octets int)
TEXT ·deinterleaveAVX2(SB), NOSPLIT, $0-32
	MOVQ even+0(FP), DI
	MOVQ odd+8(FP), SI
	MOVQ src+16(FP), R8
	MOVQ octets+24(FP), CX

deloop:
	SPLIT8(R8, Y0, Y1, Y2, Y3)    // Y0 = src[2i], Y1 = src[2i+1], i in order
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, (SI)
	ADDQ $64, R8
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ CX
	JNZ  deloop
	VZEROUPPER
	RET

// func interleaveAVX2(dst, even, odd *float32, octets int)
TEXT ·interleaveAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ even+8(FP), R8
	MOVQ odd+16(FP), R9
	MOVQ octets+24(FP), CX

illoop:
	VMOVUPS   (R8), Y0            // even[i:i+8]
	VMOVUPS   (R9), Y1            // odd[i:i+8]
	VUNPCKLPS Y1, Y0, Y2          // pairs 0,1 | 4,5
	VUNPCKHPS Y1, Y0, Y3          // pairs 2,3 | 6,7
	STORE8(DI, Y0, Y1, Y2, Y3)    // dst[2i:2i+16]
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $64, DI
	DECQ CX
	JNZ  illoop
	VZEROUPPER
	RET
