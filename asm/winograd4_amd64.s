//go:build !purego

#include "textflag.h"

// The AVX2 transforms of Winograd F(4×4, 3×3) (winograd4.go). Each takes
// a number of quads (groups of four tiles) and does them eight tiles per
// iteration in Y registers (one register holds one value of eight tiles),
// then a last odd quad in X registers. They compute the expressions of
// winoB4 and winoA4 in the same order; their products are by powers of
// two, exact (short of subnormal values), so FMA rounds as the generic
// code's multiply and add do and the results are bit-identical.

DATA winoKh<>+0(SB)/4, $0x3f000000 // 0.5
GLOBL winoKh<>(SB), RODATA|NOPTR, $4
DATA winoKq<>+0(SB)/4, $0x3e800000 // 0.25
GLOBL winoKq<>(SB), RODATA|NOPTR, $4
DATA winoK4<>+0(SB)/4, $0x40800000 // 4.0
GLOBL winoK4<>(SB), RODATA|NOPTR, $4

// TRANS4 transposes the 4×4 blocks of a0..a3 within each 128-bit lane:
// element k of o_j is element j of a_k. u0..u3 are clobbered.
#define TRANS4(a0, a1, a2, a3, u0, u1, u2, u3, o0, o1, o2, o3) \
	VUNPCKLPS a1, a0, u0; \
	VUNPCKLPS a3, a2, u1; \
	VUNPCKHPS a1, a0, u2; \
	VUNPCKHPS a3, a2, u3; \
	VSHUFPS   $0x44, u1, u0, o0; \
	VSHUFPS   $0xEE, u1, u0, o1; \
	VSHUFPS   $0x44, u3, u2, o2; \
	VSHUFPS   $0xEE, u3, u2, o3

// HT is winoB4: it stores Bᵀ (c0..c5) at o0..o5; t0..t3 are clobbered,
// Y13 holds ½, Y14 4 and Y15 ¼ in every lane (X13..X15 for X registers:
// the macro takes them as kh, k4, kq).
#define HT(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, kh, k4, kq, o0, o1, o2, o3, o4, o5) \
	VMOVAPS      c4, t0; \
	VFNMADD231PS k4, c2, t0; \
	VMOVAPS      c4, t1; \
	VFNMADD231PS kq, c2, t1; \
	VMOVAPS      c0, t2; \
	VFNMADD231PS k4, c2, t2; \
	VADDPS       t1, t2, t2; \
	VMOVUPS      t2, o0; \
	VADDPS       c1, c1, t3; \
	VFMSUB231PS  kh, c3, t3; \
	VADDPS       t3, t0, t2; \
	VMOVUPS      t2, o1; \
	VSUBPS       t3, t0, t2; \
	VMOVUPS      t2, o2; \
	VADDPS       c3, c3, t3; \
	VFNMADD231PS kh, c1, t3; \
	VADDPS       t3, t1, t2; \
	VMOVUPS      t2, o3; \
	VSUBPS       t3, t1, t2; \
	VMOVUPS      t2, o4; \
	VMOVAPS      c1, t0; \
	VFNMADD231PS k4, c3, t0; \
	VMOVAPS      c5, t1; \
	VFNMADD231PS kq, c3, t1; \
	VADDPS       t1, t0, t0; \
	VMOVUPS      t0, o5

// TILES8 loads columns 4t..4t+3 of eight tiles of the row at AX, tiles
// 0..3 and 4..7 in the two lanes of Y0..Y3, and transposes them into the
// tiles' columns c0..c3 in Y9..Y12 (Y5..Y8 are clobbered).
#define TILES8 \
	VMOVUPS     (AX), X0; \
	VINSERTF128 $1, 64(AX), Y0, Y0; \
	VMOVUPS     16(AX), X1; \
	VINSERTF128 $1, 80(AX), Y1, Y1; \
	VMOVUPS     32(AX), X2; \
	VINSERTF128 $1, 96(AX), Y2, Y2; \
	VMOVUPS     48(AX), X3; \
	VINSERTF128 $1, 112(AX), Y3, Y3; \
	TRANS4(Y0, Y1, Y2, Y3, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12)

// TILES4 is TILES8 for four tiles in X registers.
#define TILES4 \
	VMOVUPS (AX), X0; \
	VMOVUPS 16(AX), X1; \
	VMOVUPS 32(AX), X2; \
	VMOVUPS 48(AX), X3; \
	TRANS4(X0, X1, X2, X3, X5, X6, X7, X8, X9, X10, X11, X12)

// ROW8 transforms the image row at AX for eight tiles: TILES8, then
// columns 4t+4, 4t+5 (the next tile's c0 and c1) from Y1..Y3 and the
// values after the last tile loaded into Y4, into Y7 and Y8, and Bᵀ of
// c0..c5 (Y9, Y10, Y11, Y12, Y7, Y8) stored at the six rows ξ of V from
// DX (BX = vs, R12 = 3·vs, R13 = 5·vs bytes).
#define ROW8 \
	TILES8; \
	VMOVSD      64(AX), X4; \
	VMOVSD      128(AX), X5; \
	VINSERTF128 $1, X5, Y4, Y4; \
	VUNPCKLPS   Y2, Y1, Y5; \
	VUNPCKLPS   Y4, Y3, Y6; \
	VSHUFPS     $0x44, Y6, Y5, Y7; \
	VSHUFPS     $0xEE, Y6, Y5, Y8; \
	HT(Y9, Y10, Y11, Y12, Y7, Y8, Y0, Y1, Y2, Y3, Y13, Y14, Y15, (DX), (DX)(BX*1), (DX)(BX*2), (DX)(R12*1), (DX)(BX*4), (DX)(R13*1))

// ROW4 is ROW8 for four tiles in X registers.
#define ROW4 \
	TILES4; \
	VMOVSD    64(AX), X4; \
	VUNPCKLPS X2, X1, X5; \
	VUNPCKLPS X4, X3, X6; \
	VSHUFPS   $0x44, X6, X5, X7; \
	VSHUFPS   $0xEE, X6, X5, X8; \
	HT(X9, X10, X11, X12, X7, X8, X0, X1, X2, X3, X13, X14, X15, (DX), (DX)(BX*1), (DX)(BX*2), (DX)(R12*1), (DX)(BX*4), (DX)(R13*1))

// ROWS4 runs row (ROW8, ROW4, GROW8 or GROW4) on the four rows from SI
// (R9 = the row stride, R10 = 3 of them, R11 = 5, in bytes), row i into
// the rows ξ = 6i..6i+5 from DI (R8 = 6 transform rows, in bytes), and
// leaves DX at the fourth's.
#define ROWS4(row) \
	MOVQ DI, DX; \
	MOVQ SI, AX; \
	row; \
	ADDQ R8, DX; \
	LEAQ (SI)(R9*1), AX; \
	row; \
	ADDQ R8, DX; \
	LEAQ (SI)(R9*2), AX; \
	row; \
	ADDQ R8, DX; \
	LEAQ (SI)(R10*1), AX; \
	row

// ROWS is ROWS4 on six rows.
#define ROWS(row) \
	ROWS4(row); \
	ADDQ R8, DX; \
	LEAQ (SI)(R9*4), AX; \
	row; \
	ADDQ R8, DX; \
	LEAQ (SI)(R11*1), AX; \
	row

// COL transforms column j of the tiles in place: V's rows ξ = j, 6+j, ...,
// 30+j at DX, DX + 6·vs, DX + 12·vs, AX = DX + 18·vs, ... (R8 = 6·vs), then
// moves DX and AX on to column j+1.
#define COL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, kh, k4, kq) \
	VMOVUPS (DX), c0; \
	VMOVUPS (DX)(R8*1), c1; \
	VMOVUPS (DX)(R8*2), c2; \
	VMOVUPS (AX), c3; \
	VMOVUPS (AX)(R8*1), c4; \
	VMOVUPS (AX)(R8*2), c5; \
	HT(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, kh, k4, kq, (DX), (DX)(R8*1), (DX)(R8*2), (AX), (AX)(R8*1), (AX)(R8*2)); \
	ADDQ    BX, DX; \
	ADDQ    BX, AX

// COLS runs COL on the six columns, in registers of one width (Y or X).
#define COLS(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, kh, k4, kq) \
	MOVQ DI, DX; \
	LEAQ (DI)(R8*2), AX; \
	ADDQ R8, AX; \
	COL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, kh, k4, kq); \
	COL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, kh, k4, kq); \
	COL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, kh, k4, kq); \
	COL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, kh, k4, kq); \
	COL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, kh, k4, kq); \
	COL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, kh, k4, kq)

// SETUP loads the arguments (t *float32, ts int, r *float32, rs, quads
// int) of the input and gradient kernels: DI = t, the transform values,
// BX = ts, R12 = 3·ts, R13 = 5·ts, R8 = 6·ts (bytes); SI = r, the rows
// they come from, R9 = rs, R10 = 3·rs, R11 = 5·rs (bytes); CX = quads; the
// constants ½, 4 and ¼ of HT and AA in Y13..Y15.
#define SETUP(t, ts, r, rs) \
	MOVQ         t+0(FP), DI; \
	MOVQ         ts+8(FP), BX; \
	SHLQ         $2, BX; \
	MOVQ         r+16(FP), SI; \
	MOVQ         rs+24(FP), R9; \
	SHLQ         $2, R9; \
	MOVQ         quads+32(FP), CX; \
	VBROADCASTSS winoKh<>(SB), Y13; \
	VBROADCASTSS winoK4<>(SB), Y14; \
	VBROADCASTSS winoKq<>(SB), Y15; \
	LEAQ         (BX)(BX*2), R12; \
	LEAQ         (BX)(BX*4), R13; \
	LEAQ         (R12)(R12*1), R8; \
	LEAQ         (R9)(R9*2), R10; \
	LEAQ         (R9)(R9*4), R11

// QUADS runs pass8 on pairs of quads (eight tiles: 32 columns of the rows
// at SI, 8 values of the transform rows at DI), then pass4 on a last odd
// quad, and returns.
#define QUADS(pass8, pass4) \
eight: \
	CMPQ CX, $2; \
	JLT  four; \
	pass8; \
	ADDQ $128, SI; \
	ADDQ $32, DI; \
	SUBQ $2, CX; \
	JMP  eight; \
four: \
	CMPQ CX, $1; \
	JLT  done; \
	pass4; \
done: \
	VZEROUPPER; \
	RET

// func winoInput4AVX2(v *float32, vs int, d *float32, ld, quads int)
TEXT ·winoInput4AVX2(SB), NOSPLIT, $0-40
	SETUP(v, vs, d, ld)
	QUADS(ROWS(ROW8); COLS(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y13, Y14, Y15), ROWS(ROW4); COLS(X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X13, X14, X15))

// AT is winoA4 of c0..c5 into y0 = t2, y1 = t4, y2 = t1, y3 = t0 (t3 is
// clobbered); k4 holds 4, kh ½ and kq ¼ in every lane.
#define AT(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, t4, k4, kh, kq) \
	VADDPS      c2, c1, t0; \
	VADDPS      c4, c3, t1; \
	VADDPS      t0, c0, t2; \
	VADDPS      t1, t2, t2; \
	VMULPS      kq, t0, t0; \
	VFMADD213PS t0, k4, t1; \
	VSUBPS      c2, c1, t0; \
	VSUBPS      c4, c3, t3; \
	VADDPS      t3, t3, t3; \
	VMULPS      kh, t0, t0; \
	VADDPS      t0, t3, t4; \
	VMULPS      kq, t0, t0; \
	VFMADD231PS k4, t3, t0; \
	VADDPS      c5, t0, t0

// OCOL runs AT on column j of the tiles' M (rows ξ = j, 6+j, ..., 30+j
// at DX, DX + 6·ms, DX + 12·ms, AX = DX + 18·ms, ...; R9 = 6·ms), stores
// row a of the result at off + 192·a(SP), then moves DX and AX on to
// column j+1. The constants k4, kh, kq are those of AT.
#define OCOL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, t4, k4, kh, kq, off) \
	VMOVUPS (DX), c0; \
	VMOVUPS (DX)(R9*1), c1; \
	VMOVUPS (DX)(R9*2), c2; \
	VMOVUPS (AX), c3; \
	VMOVUPS (AX)(R9*1), c4; \
	VMOVUPS (AX)(R9*2), c5; \
	AT(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, t4, k4, kh, kq); \
	VMOVUPS t2, off(SP); \
	VMOVUPS t4, off+192(SP); \
	VMOVUPS t1, off+384(SP); \
	VMOVUPS t0, off+576(SP); \
	ADDQ    BX, DX; \
	ADDQ    BX, AX

// OCOLS runs OCOL on the six columns of the tiles from R8.
#define OCOLS(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, t4, k4, kh, kq) \
	MOVQ R8, DX; \
	LEAQ (R8)(R9*2), AX; \
	ADDQ R9, AX; \
	OCOL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, t4, k4, kh, kq, 0); \
	OCOL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, t4, k4, kh, kq, 32); \
	OCOL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, t4, k4, kh, kq, 64); \
	OCOL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, t4, k4, kh, kq, 96); \
	OCOL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, t4, k4, kh, kq, 128); \
	OCOL(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, t4, k4, kh, kq, 160)

// OROW finishes output row a from row a of Aᵀ M at off(SP): AT along it,
// plus the bias b, then the four values of each tile transposed together
// into o0..o3 (tiles 0..3, and 4..7 in the high lanes of Y registers).
#define OROW(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, t4, k4, kh, kq, b, off, o0, o1, o2, o3) \
	VMOVUPS off(SP), c0; \
	VMOVUPS off+32(SP), c1; \
	VMOVUPS off+64(SP), c2; \
	VMOVUPS off+96(SP), c3; \
	VMOVUPS off+128(SP), c4; \
	VMOVUPS off+160(SP), c5; \
	AT(c0, c1, c2, c3, c4, c5, t0, t1, t2, t3, t4, k4, kh, kq); \
	VADDPS  b, t2, t2; \
	VADDPS  b, t4, t4; \
	VADDPS  b, t1, t1; \
	VADDPS  b, t0, t0; \
	TRANS4(t2, t4, t1, t0, c0, c1, c2, c3, o0, o1, o2, o3)

// STORE8 writes the 32 columns of eight tiles from Y4..Y7 at AX.
#define STORE8 \
	VMOVUPS      X4, (AX); \
	VMOVUPS      X5, 16(AX); \
	VMOVUPS      X6, 32(AX); \
	VMOVUPS      X7, 48(AX); \
	VEXTRACTF128 $1, Y4, 64(AX); \
	VEXTRACTF128 $1, Y5, 80(AX); \
	VEXTRACTF128 $1, Y6, 96(AX); \
	VEXTRACTF128 $1, Y7, 112(AX)

// STORE4 writes the 16 columns of four tiles from X4..X7 at AX.
#define STORE4 \
	VMOVUPS X4, (AX); \
	VMOVUPS X5, 16(AX); \
	VMOVUPS X6, 32(AX); \
	VMOVUPS X7, 48(AX)

// OROW8 and OROW4 run OROW on output row a = off/192, in Y or X
// registers.
#define OROW8(off) OROW(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y14, Y13, Y12, Y15, off, Y4, Y5, Y6, Y7)
#define OROW4(off) OROW(X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X14, X13, X12, X15, off, X4, X5, X6, X7)

// ROWSOUT runs orow (OROW8 or OROW4) and store (STORE8 or STORE4) on the
// four output rows from DI (R10 = width, R11 = 3·width bytes).
#define ROWSOUT(orow, store) \
	orow(0); \
	MOVQ DI, AX; \
	store; \
	orow(192); \
	LEAQ (DI)(R10*1), AX; \
	store; \
	orow(384); \
	LEAQ (DI)(R10*2), AX; \
	store; \
	orow(576); \
	LEAQ (DI)(R11*1), AX; \
	store

// func winoOutput4AVX2(y *float32, width int, m *float32, ms, quads int, bias float32)
TEXT ·winoOutput4AVX2(SB), 0, $768-44
	MOVQ y+0(FP), DI
	MOVQ width+8(FP), R10
	SHLQ $2, R10                  // R10 = width in bytes
	MOVQ m+16(FP), R8
	MOVQ ms+24(FP), BX
	SHLQ $2, BX                   // BX = ms in bytes
	MOVQ quads+32(FP), CX
	VBROADCASTSS bias+40(FP), Y15
	VBROADCASTSS winoK4<>(SB), Y14
	VBROADCASTSS winoKh<>(SB), Y13
	VBROADCASTSS winoKq<>(SB), Y12
	LEAQ (BX)(BX*2), R9
	ADDQ R9, R9                   // R9 = 6·ms
	LEAQ (R10)(R10*2), R11        // 3·width

out8:
	CMPQ CX, $2
	JLT  out4
	OCOLS(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y14, Y13, Y12)
	ROWSOUT(OROW8, STORE8)
	ADDQ $32, R8                  // next eight tiles
	ADDQ $128, DI
	SUBQ $2, CX
	JMP  out8

out4:
	CMPQ CX, $1
	JLT  outdone
	OCOLS(X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X14, X13, X12)
	ROWSOUT(OROW4, STORE4)

outdone:
	VZEROUPPER
	RET

// AA is winoAA4: it stores A (c0..c3) at o0..o5; t0..t4 are clobbered,
// kh holds ½, k4 4 and kq ¼ in every lane.
#define AA(c0, c1, c2, c3, t0, t1, t2, t3, t4, kh, k4, kq, o0, o1, o2, o3, o4, o5) \
	VMOVAPS     c0, t0; \
	VFMADD231PS kq, c2, t0; \
	VMOVAPS     c1, t1; \
	VFMADD231PS kq, c3, t1; \
	VMULPS      kh, t1, t1; \
	VMOVAPS     c0, t2; \
	VFMADD231PS k4, c2, t2; \
	VMOVAPS     c1, t3; \
	VFMADD231PS k4, c3, t3; \
	VADDPS      t3, t3, t3; \
	VMOVUPS     c0, o0; \
	VADDPS      t1, t0, t4; \
	VMOVUPS     t4, o1; \
	VSUBPS      t1, t0, t4; \
	VMOVUPS     t4, o2; \
	VADDPS      t3, t2, t4; \
	VMOVUPS     t4, o3; \
	VSUBPS      t3, t2, t4; \
	VMOVUPS     t4, o4; \
	VMOVUPS     c3, o5

// GROW8 transforms the gradient row at AX for eight tiles: TILES8, and
// A of the columns stored at the six rows ξ of dM from DX (BX = ms,
// R12 = 3·ms, R13 = 5·ms bytes).
#define GROW8 \
	TILES8; \
	AA(Y9, Y10, Y11, Y12, Y0, Y1, Y2, Y3, Y4, Y13, Y14, Y15, (DX), (DX)(BX*1), (DX)(BX*2), (DX)(R12*1), (DX)(BX*4), (DX)(R13*1))

// GROW4 is GROW8 for four tiles in X registers.
#define GROW4 \
	TILES4; \
	AA(X9, X10, X11, X12, X0, X1, X2, X3, X4, X13, X14, X15, (DX), (DX)(BX*1), (DX)(BX*2), (DX)(R12*1), (DX)(BX*4), (DX)(R13*1))

// GCOL transforms column j of the tiles: dM's rows ξ = j, 6+j, 12+j, 18+j
// (at DX, DX + 6·ms, DX + 12·ms, AX = DX + 18·ms) into the rows ξ = j,
// 6+j, ..., 30+j, then moves DX and AX on to column j+1.
#define GCOL(c0, c1, c2, c3, t0, t1, t2, t3, t4, kh, k4, kq) \
	VMOVUPS (DX), c0; \
	VMOVUPS (DX)(R8*1), c1; \
	VMOVUPS (DX)(R8*2), c2; \
	VMOVUPS (AX), c3; \
	AA(c0, c1, c2, c3, t0, t1, t2, t3, t4, kh, k4, kq, (DX), (DX)(R8*1), (DX)(R8*2), (AX), (AX)(R8*1), (AX)(R8*2)); \
	ADDQ    BX, DX; \
	ADDQ    BX, AX

// GCOLS runs GCOL on the six columns, in registers of one width.
#define GCOLS(c0, c1, c2, c3, t0, t1, t2, t3, t4, kh, k4, kq) \
	MOVQ DI, DX; \
	LEAQ (DI)(R8*2), AX; \
	ADDQ R8, AX; \
	GCOL(c0, c1, c2, c3, t0, t1, t2, t3, t4, kh, k4, kq); \
	GCOL(c0, c1, c2, c3, t0, t1, t2, t3, t4, kh, k4, kq); \
	GCOL(c0, c1, c2, c3, t0, t1, t2, t3, t4, kh, k4, kq); \
	GCOL(c0, c1, c2, c3, t0, t1, t2, t3, t4, kh, k4, kq); \
	GCOL(c0, c1, c2, c3, t0, t1, t2, t3, t4, kh, k4, kq); \
	GCOL(c0, c1, c2, c3, t0, t1, t2, t3, t4, kh, k4, kq)

// func winoOutputGrad4AVX2(m *float32, ms int, y *float32, width, quads int)
TEXT ·winoOutputGrad4AVX2(SB), NOSPLIT, $0-40
	SETUP(m, ms, y, width)
	QUADS(ROWS4(GROW8); GCOLS(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y13, Y14, Y15), ROWS4(GROW4); GCOLS(X0, X1, X2, X3, X4, X5, X6, X7, X8, X13, X14, X15))
