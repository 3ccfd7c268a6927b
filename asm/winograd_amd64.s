//go:build !purego

#include "textflag.h"

// The AVX2 Winograd transforms of winograd.go, eight tiles per iteration
// (one register holds one value ξ of eight tiles). They compute exactly
// the expressions of winoInputGeneric and winoOutputGeneric, in the same
// order and without FMA, so their results are bit-identical to them.

// ROW loads 16+2 values of the row at P (columns 2t..2t+3 of eight tiles),
// splits them into the four columns c0..c3 of the tiles (c_j = P[2t+j])
// and leaves f = (c0 − c2, c1 + c2, c2 − c1, c1 − c3) in f0..f3; t0 and t1
// are clobbered.
#define ROW(P, f0, f1, f2, f3, t0, t1) \
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
	VSUBPS  f2, f0, f0; \
	VADDPS  f2, f1, t0; \
	VSUBPS  f1, f2, f2; \
	VSUBPS  f3, f1, f3; \
	VMOVAPS t0, f1

// func winoInputAVX2(v *float32, vs int, d0, d1, d2, d3 *float32, groups int)
TEXT ·winoInputAVX2(SB), NOSPLIT, $0-56
	MOVQ v+0(FP), DI
	MOVQ vs+8(FP), BX
	SHLQ $2, BX                   // BX = vs in bytes
	MOVQ d0+16(FP), R8
	MOVQ d1+24(FP), R9
	MOVQ d2+32(FP), R10
	MOVQ d3+40(FP), R11
	MOVQ groups+48(FP), CX
	LEAQ (BX)(BX*2), R12          // 3·vs
	LEAQ (BX)(BX*4), R13          // 5·vs
	LEAQ (R12)(BX*4), R14         // 7·vs
	LEAQ (DI)(BX*8), DX           // DX = &v[8·vs]

loop:
	ROW(R9, Y0, Y1, Y2, Y3, Y12, Y13)     // f1
	ROW(R10, Y4, Y5, Y6, Y7, Y12, Y13)    // f2
	VADDPS  Y4, Y0, Y12
	VMOVUPS Y12, (DI)(BX*4)               // v[4·vs+t] = f1[0] + f2[0]
	VADDPS  Y5, Y1, Y12
	VMOVUPS Y12, (DI)(R13*1)              // v[5·vs+t] = f1[1] + f2[1]
	VADDPS  Y6, Y2, Y12
	VMOVUPS Y12, (DI)(R12*2)              // v[6·vs+t] = f1[2] + f2[2]
	VADDPS  Y7, Y3, Y12
	VMOVUPS Y12, (DI)(R14*1)              // v[7·vs+t] = f1[3] + f2[3]
	VSUBPS  Y0, Y4, Y12
	VMOVUPS Y12, (DX)                     // v[8·vs+t] = f2[0] - f1[0]
	VSUBPS  Y1, Y5, Y12
	VMOVUPS Y12, (DX)(BX*1)               // v[9·vs+t] = f2[1] - f1[1]
	VSUBPS  Y2, Y6, Y12
	VMOVUPS Y12, (DX)(BX*2)               // v[10·vs+t] = f2[2] - f1[2]
	VSUBPS  Y3, Y7, Y12
	VMOVUPS Y12, (DX)(R12*1)              // v[11·vs+t] = f2[3] - f1[3]
	ROW(R8, Y8, Y9, Y10, Y11, Y12, Y13)   // f0
	VSUBPS  Y4, Y8, Y12
	VMOVUPS Y12, (DI)                     // v[t] = f0[0] - f2[0]
	VSUBPS  Y5, Y9, Y12
	VMOVUPS Y12, (DI)(BX*1)               // v[vs+t] = f0[1] - f2[1]
	VSUBPS  Y6, Y10, Y12
	VMOVUPS Y12, (DI)(BX*2)               // v[2·vs+t] = f0[2] - f2[2]
	VSUBPS  Y7, Y11, Y12
	VMOVUPS Y12, (DI)(R12*1)              // v[3·vs+t] = f0[3] - f2[3]
	ROW(R11, Y8, Y9, Y10, Y11, Y12, Y13)  // f3
	VSUBPS  Y8, Y0, Y12
	VMOVUPS Y12, (DX)(BX*4)               // v[12·vs+t] = f1[0] - f3[0]
	VSUBPS  Y9, Y1, Y12
	VMOVUPS Y12, (DX)(R13*1)              // v[13·vs+t] = f1[1] - f3[1]
	VSUBPS  Y10, Y2, Y12
	VMOVUPS Y12, (DX)(R12*2)              // v[14·vs+t] = f1[2] - f3[2]
	VSUBPS  Y11, Y3, Y12
	VMOVUPS Y12, (DX)(R14*1)              // v[15·vs+t] = f1[3] - f3[3]
	ADDQ $64, R8                          // next eight tiles: 16 columns on
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, R11
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNZ  loop
	VZEROUPPER
	RET

// COLS loads m[j·ms], m[(4+j)·ms], m[(8+j)·ms], m[(12+j)·ms] of eight tiles
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

// OUTROW finishes one output row from r[j] in x0..x3 (r = Aᵀ M, row i):
// y[2t] = x0 + x1 + x2 + bias, y[2t+1] = x1 − x2 − x3 + bias (bias in Y15),
// interleaved into 16 columns stored at P. t0..t3 are clobbered.
#define OUTROW(x0, x1, x2, x3, P, t0, t1, t2, t3) \
	VADDPS     x1, x0, t0; \
	VADDPS     x2, t0, t0; \
	VADDPS     Y15, t0, t0; \
	VSUBPS     x2, x1, t1; \
	VSUBPS     x3, t1, t1; \
	VADDPS     Y15, t1, t1; \
	VUNPCKLPS  t1, t0, t2; \
	VUNPCKHPS  t1, t0, t3; \
	VPERM2F128 $0x20, t3, t2, t0; \
	VPERM2F128 $0x31, t3, t2, t1; \
	VMOVUPS    t0, (P); \
	VMOVUPS    t1, 32(P)

// func winoOutputAVX2(y0, y1, m *float32, ms, groups int, bias float32)
TEXT ·winoOutputAVX2(SB), NOSPLIT, $0-44
	MOVQ y0+0(FP), DI
	MOVQ y1+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ ms+24(FP), BX
	SHLQ $2, BX                   // BX = ms in bytes
	MOVQ groups+32(FP), CX
	VBROADCASTSS bias+40(FP), Y15
	LEAQ (BX)(BX*2), R12          // 3·ms
	LEAQ (BX)(BX*4), R13          // 5·ms
	LEAQ (R12)(BX*4), R14         // 7·ms

outloop:
	LEAQ (R8)(BX*8), DX           // DX = &m[8·ms+t]
	COLS((R8), (R8)(BX*4), (DX), (DX)(BX*4), Y0, Y4, Y8, Y9)                  // j = 0
	COLS((R8)(BX*1), (R8)(R13*1), (DX)(BX*1), (DX)(R13*1), Y1, Y5, Y8, Y9)    // j = 1
	COLS((R8)(BX*2), (R8)(R12*2), (DX)(BX*2), (DX)(R12*2), Y2, Y6, Y8, Y9)    // j = 2
	COLS((R8)(R12*1), (R8)(R14*1), (DX)(R12*1), (DX)(R14*1), Y3, Y7, Y8, Y9)  // j = 3
	OUTROW(Y0, Y1, Y2, Y3, DI, Y8, Y9, Y10, Y11)
	OUTROW(Y4, Y5, Y6, Y7, SI, Y8, Y9, Y10, Y11)
	ADDQ $32, R8                  // next eight tiles
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNZ  outloop
	VZEROUPPER
	RET

// SPLIT loads 16 values of the row at P (columns 2t, 2t+1 of eight tiles)
// and leaves the even columns in a and the odd ones in c, tiles in order.
#define SPLIT(P, a, c, t0, t1) \
	VMOVUPS (P), t0; \
	VMOVUPS 32(P), t1; \
	VSHUFPS $0x88, t1, t0, a; \
	VSHUFPS $0xDD, t1, t0, c; \
	VPERMPD $0xD8, a, a; \
	VPERMPD $0xD8, c, c

DATA winoSign<>+0(SB)/4, $0x80000000
GLOBL winoSign<>(SB), RODATA|NOPTR, $4

// func winoOutputGradAVX2(m *float32, ms int, y0, y1 *float32, groups int)
TEXT ·winoOutputGradAVX2(SB), NOSPLIT, $0-40
	MOVQ m+0(FP), DI
	MOVQ ms+8(FP), BX
	SHLQ $2, BX                   // BX = ms in bytes
	MOVQ y0+16(FP), R8
	MOVQ y1+24(FP), R9
	MOVQ groups+32(FP), CX
	VBROADCASTSS winoSign<>(SB), Y15 // sign bit: -x is x XOR Y15, as Go negates
	LEAQ (BX)(BX*2), R12          // 3·ms
	LEAQ (BX)(BX*4), R13          // 5·ms
	LEAQ (R12)(BX*4), R14         // 7·ms
	LEAQ (DI)(BX*8), DX           // DX = &m[8·ms+t]

gradloop:
	SPLIT(R8, Y0, Y1, Y12, Y13)   // a0 = y0[2t], c0 = y0[2t+1]
	SPLIT(R9, Y4, Y5, Y12, Y13)   // a1 = y1[2t], c1 = y1[2t+1]
	VSUBPS Y1, Y0, Y2             // e0 = (a0, a0+c0, a0-c0, -c0) in Y0..Y3
	VXORPS Y15, Y1, Y3
	VADDPS Y1, Y0, Y1
	VSUBPS Y5, Y4, Y6             // e1 = (a1, a1+c1, a1-c1, -c1) in Y4..Y7
	VXORPS Y15, Y5, Y7
	VADDPS Y5, Y4, Y5
	VMOVUPS Y0, (DI)              // m[j·ms+t] = e0[j]
	VMOVUPS Y1, (DI)(BX*1)
	VMOVUPS Y2, (DI)(BX*2)
	VMOVUPS Y3, (DI)(R12*1)
	VADDPS  Y4, Y0, Y8
	VMOVUPS Y8, (DI)(BX*4)        // m[(4+j)·ms+t] = e0[j] + e1[j]
	VADDPS  Y5, Y1, Y8
	VMOVUPS Y8, (DI)(R13*1)
	VADDPS  Y6, Y2, Y8
	VMOVUPS Y8, (DI)(R12*2)
	VADDPS  Y7, Y3, Y8
	VMOVUPS Y8, (DI)(R14*1)
	VSUBPS  Y4, Y0, Y8
	VMOVUPS Y8, (DX)              // m[(8+j)·ms+t] = e0[j] - e1[j]
	VSUBPS  Y5, Y1, Y8
	VMOVUPS Y8, (DX)(BX*1)
	VSUBPS  Y6, Y2, Y8
	VMOVUPS Y8, (DX)(BX*2)
	VSUBPS  Y7, Y3, Y8
	VMOVUPS Y8, (DX)(R12*1)
	VXORPS  Y15, Y4, Y8
	VMOVUPS Y8, (DX)(BX*4)        // m[(12+j)·ms+t] = -e1[j]
	VXORPS  Y15, Y5, Y8
	VMOVUPS Y8, (DX)(R13*1)
	VXORPS  Y15, Y6, Y8
	VMOVUPS Y8, (DX)(R12*2)
	VXORPS  Y15, Y7, Y8
	VMOVUPS Y8, (DX)(R14*1)
	ADDQ $64, R8                  // next eight tiles
	ADDQ $64, R9
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNZ  gradloop
	VZEROUPPER
	RET
