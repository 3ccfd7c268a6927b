//go:build !purego

#include "textflag.h"

// NEON kernels for arm64. Go declarations and the Go loop each one computes
// are in kernels_arm64.go.
//
// Operand order: Go's assembler writes sources first and the destination
// last (VFMLA Vm, Vn, Vd means Vd += Vn*Vm). The Go assembler lacks vector
// FADD, FMUL, FADDP, FCMLE and by-element FMLA, so those are WORD encodings;
// their comments give the instruction in Arm's order (destination first).
// Register names: Vn.S4 / Vn.4S is a vector of four float32, Vn.S[i] its
// lane i.

// func sgemmKernel8x12NEON(kc int, a, b, c *float32, ldc int, accumulate bool)
//
// Registers: R0 k steps left, R1 &a[p*8], R2 &b[p*12], R3 C row to store,
// R4 ldc in bytes, R5 C row to load (accumulate only).
// V0, V1 = A[p][0:4], A[p][4:8]; V2, V3, V4 = B[p][0:4], B[p][4:8], B[p][8:12];
// V(8+3i+j) = acc[i][4j:4j+4], the sums for C[i][4j:4j+4].
TEXT ·sgemmKernel8x12NEON(SB), NOSPLIT, $0-41
	MOVD	kc+0(FP), R0
	MOVD	a+8(FP), R1
	MOVD	b+16(FP), R2

	// acc = 0 (the sums start from zero, never from C).
	VEOR	V8.B16, V8.B16, V8.B16
	VEOR	V9.B16, V9.B16, V9.B16
	VEOR	V10.B16, V10.B16, V10.B16
	VEOR	V11.B16, V11.B16, V11.B16
	VEOR	V12.B16, V12.B16, V12.B16
	VEOR	V13.B16, V13.B16, V13.B16
	VEOR	V14.B16, V14.B16, V14.B16
	VEOR	V15.B16, V15.B16, V15.B16
	VEOR	V16.B16, V16.B16, V16.B16
	VEOR	V17.B16, V17.B16, V17.B16
	VEOR	V18.B16, V18.B16, V18.B16
	VEOR	V19.B16, V19.B16, V19.B16
	VEOR	V20.B16, V20.B16, V20.B16
	VEOR	V21.B16, V21.B16, V21.B16
	VEOR	V22.B16, V22.B16, V22.B16
	VEOR	V23.B16, V23.B16, V23.B16
	VEOR	V24.B16, V24.B16, V24.B16
	VEOR	V25.B16, V25.B16, V25.B16
	VEOR	V26.B16, V26.B16, V26.B16
	VEOR	V27.B16, V27.B16, V27.B16
	VEOR	V28.B16, V28.B16, V28.B16
	VEOR	V29.B16, V29.B16, V29.B16
	VEOR	V30.B16, V30.B16, V30.B16
	VEOR	V31.B16, V31.B16, V31.B16
	CBZ	R0, store

kloop:
	VLD1.P	32(R1), [V0.S4, V1.S4]        // V0, V1 = a[0:4], a[4:8]; a = a[8:]
	VLD1.P	48(R2), [V2.S4, V3.S4, V4.S4] // V2, V3, V4 = b[0:4], b[4:8], b[8:12]; b = b[12:]
	WORD	$0x4f801048                   // FMLA V8.4S, V2.4S, V0.S[0]: acc[0][0:4] += b[0:4] * a[0]
	WORD	$0x4f801069                   // FMLA V9.4S, V3.4S, V0.S[0]: acc[0][4:8] += b[4:8] * a[0]
	WORD	$0x4f80108a                   // FMLA V10.4S, V4.4S, V0.S[0]: acc[0][8:12] += b[8:12] * a[0]
	WORD	$0x4fa0104b                   // FMLA V11.4S, V2.4S, V0.S[1]: acc[1][0:4] += b[0:4] * a[1]
	WORD	$0x4fa0106c                   // FMLA V12.4S, V3.4S, V0.S[1]: acc[1][4:8] += b[4:8] * a[1]
	WORD	$0x4fa0108d                   // FMLA V13.4S, V4.4S, V0.S[1]: acc[1][8:12] += b[8:12] * a[1]
	WORD	$0x4f80184e                   // FMLA V14.4S, V2.4S, V0.S[2]: acc[2][0:4] += b[0:4] * a[2]
	WORD	$0x4f80186f                   // FMLA V15.4S, V3.4S, V0.S[2]: acc[2][4:8] += b[4:8] * a[2]
	WORD	$0x4f801890                   // FMLA V16.4S, V4.4S, V0.S[2]: acc[2][8:12] += b[8:12] * a[2]
	WORD	$0x4fa01851                   // FMLA V17.4S, V2.4S, V0.S[3]: acc[3][0:4] += b[0:4] * a[3]
	WORD	$0x4fa01872                   // FMLA V18.4S, V3.4S, V0.S[3]: acc[3][4:8] += b[4:8] * a[3]
	WORD	$0x4fa01893                   // FMLA V19.4S, V4.4S, V0.S[3]: acc[3][8:12] += b[8:12] * a[3]
	WORD	$0x4f811054                   // FMLA V20.4S, V2.4S, V1.S[0]: acc[4][0:4] += b[0:4] * a[4]
	WORD	$0x4f811075                   // FMLA V21.4S, V3.4S, V1.S[0]: acc[4][4:8] += b[4:8] * a[4]
	WORD	$0x4f811096                   // FMLA V22.4S, V4.4S, V1.S[0]: acc[4][8:12] += b[8:12] * a[4]
	WORD	$0x4fa11057                   // FMLA V23.4S, V2.4S, V1.S[1]: acc[5][0:4] += b[0:4] * a[5]
	WORD	$0x4fa11078                   // FMLA V24.4S, V3.4S, V1.S[1]: acc[5][4:8] += b[4:8] * a[5]
	WORD	$0x4fa11099                   // FMLA V25.4S, V4.4S, V1.S[1]: acc[5][8:12] += b[8:12] * a[5]
	WORD	$0x4f81185a                   // FMLA V26.4S, V2.4S, V1.S[2]: acc[6][0:4] += b[0:4] * a[6]
	WORD	$0x4f81187b                   // FMLA V27.4S, V3.4S, V1.S[2]: acc[6][4:8] += b[4:8] * a[6]
	WORD	$0x4f81189c                   // FMLA V28.4S, V4.4S, V1.S[2]: acc[6][8:12] += b[8:12] * a[6]
	WORD	$0x4fa1185d                   // FMLA V29.4S, V2.4S, V1.S[3]: acc[7][0:4] += b[0:4] * a[7]
	WORD	$0x4fa1187e                   // FMLA V30.4S, V3.4S, V1.S[3]: acc[7][4:8] += b[4:8] * a[7]
	WORD	$0x4fa1189f                   // FMLA V31.4S, V4.4S, V1.S[3]: acc[7][8:12] += b[8:12] * a[7]
	SUBS	$1, R0
	BNE	kloop

store:
	MOVD	c+24(FP), R3
	MOVD	ldc+32(FP), R4
	LSL	$2, R4                  // ldc in bytes
	MOVBU	accumulate+40(FP), R5
	CBZ	R5, overwrite
	MOVD	R3, R5                  // loads and stores walk the rows separately

	// C[i][0:12] = C[i][0:12] + acc[i] for each row i: C is read only here,
	// after the sums are complete, so full tiles round like edge tiles
	// (which the driver sums into scratch and adds in Go).
	VLD1.P	(R5)(R4), [V0.S4, V1.S4, V2.S4] // V0..V2 = C[0][0:12]
	WORD	$0x4e28d408                      // FADD V8.4S, V0.4S, V8.4S: acc[0][0:4] = C[0][0:4] + acc[0][0:4]
	WORD	$0x4e29d429                      // FADD V9.4S, V1.4S, V9.4S: acc[0][4:8] = C[0][4:8] + acc[0][4:8]
	WORD	$0x4e2ad44a                      // FADD V10.4S, V2.4S, V10.4S: acc[0][8:12] = C[0][8:12] + acc[0][8:12]
	VST1.P	[V8.S4, V9.S4, V10.S4], (R3)(R4) // C[0][0:12] = acc[0]
	VLD1.P	(R5)(R4), [V0.S4, V1.S4, V2.S4] // V0..V2 = C[1][0:12]
	WORD	$0x4e2bd40b                      // FADD V11.4S, V0.4S, V11.4S: acc[1][0:4] = C[1][0:4] + acc[1][0:4]
	WORD	$0x4e2cd42c                      // FADD V12.4S, V1.4S, V12.4S: acc[1][4:8] = C[1][4:8] + acc[1][4:8]
	WORD	$0x4e2dd44d                      // FADD V13.4S, V2.4S, V13.4S: acc[1][8:12] = C[1][8:12] + acc[1][8:12]
	VST1.P	[V11.S4, V12.S4, V13.S4], (R3)(R4) // C[1][0:12] = acc[1]
	VLD1.P	(R5)(R4), [V0.S4, V1.S4, V2.S4]   // V0..V2 = C[2][0:12]
	WORD	$0x4e2ed40e                        // FADD V14.4S, V0.4S, V14.4S: acc[2][0:4] = C[2][0:4] + acc[2][0:4]
	WORD	$0x4e2fd42f                        // FADD V15.4S, V1.4S, V15.4S: acc[2][4:8] = C[2][4:8] + acc[2][4:8]
	WORD	$0x4e30d450                        // FADD V16.4S, V2.4S, V16.4S: acc[2][8:12] = C[2][8:12] + acc[2][8:12]
	VST1.P	[V14.S4, V15.S4, V16.S4], (R3)(R4) // C[2][0:12] = acc[2]
	VLD1.P	(R5)(R4), [V0.S4, V1.S4, V2.S4]   // V0..V2 = C[3][0:12]
	WORD	$0x4e31d411                        // FADD V17.4S, V0.4S, V17.4S: acc[3][0:4] = C[3][0:4] + acc[3][0:4]
	WORD	$0x4e32d432                        // FADD V18.4S, V1.4S, V18.4S: acc[3][4:8] = C[3][4:8] + acc[3][4:8]
	WORD	$0x4e33d453                        // FADD V19.4S, V2.4S, V19.4S: acc[3][8:12] = C[3][8:12] + acc[3][8:12]
	VST1.P	[V17.S4, V18.S4, V19.S4], (R3)(R4) // C[3][0:12] = acc[3]
	VLD1.P	(R5)(R4), [V0.S4, V1.S4, V2.S4]   // V0..V2 = C[4][0:12]
	WORD	$0x4e34d414                        // FADD V20.4S, V0.4S, V20.4S: acc[4][0:4] = C[4][0:4] + acc[4][0:4]
	WORD	$0x4e35d435                        // FADD V21.4S, V1.4S, V21.4S: acc[4][4:8] = C[4][4:8] + acc[4][4:8]
	WORD	$0x4e36d456                        // FADD V22.4S, V2.4S, V22.4S: acc[4][8:12] = C[4][8:12] + acc[4][8:12]
	VST1.P	[V20.S4, V21.S4, V22.S4], (R3)(R4) // C[4][0:12] = acc[4]
	VLD1.P	(R5)(R4), [V0.S4, V1.S4, V2.S4]   // V0..V2 = C[5][0:12]
	WORD	$0x4e37d417                        // FADD V23.4S, V0.4S, V23.4S: acc[5][0:4] = C[5][0:4] + acc[5][0:4]
	WORD	$0x4e38d438                        // FADD V24.4S, V1.4S, V24.4S: acc[5][4:8] = C[5][4:8] + acc[5][4:8]
	WORD	$0x4e39d459                        // FADD V25.4S, V2.4S, V25.4S: acc[5][8:12] = C[5][8:12] + acc[5][8:12]
	VST1.P	[V23.S4, V24.S4, V25.S4], (R3)(R4) // C[5][0:12] = acc[5]
	VLD1.P	(R5)(R4), [V0.S4, V1.S4, V2.S4]   // V0..V2 = C[6][0:12]
	WORD	$0x4e3ad41a                        // FADD V26.4S, V0.4S, V26.4S: acc[6][0:4] = C[6][0:4] + acc[6][0:4]
	WORD	$0x4e3bd43b                        // FADD V27.4S, V1.4S, V27.4S: acc[6][4:8] = C[6][4:8] + acc[6][4:8]
	WORD	$0x4e3cd45c                        // FADD V28.4S, V2.4S, V28.4S: acc[6][8:12] = C[6][8:12] + acc[6][8:12]
	VST1.P	[V26.S4, V27.S4, V28.S4], (R3)(R4) // C[6][0:12] = acc[6]
	VLD1	(R5), [V0.S4, V1.S4, V2.S4]        // V0..V2 = C[7][0:12]
	WORD	$0x4e3dd41d                        // FADD V29.4S, V0.4S, V29.4S: acc[7][0:4] = C[7][0:4] + acc[7][0:4]
	WORD	$0x4e3ed43e                        // FADD V30.4S, V1.4S, V30.4S: acc[7][4:8] = C[7][4:8] + acc[7][4:8]
	WORD	$0x4e3fd45f                        // FADD V31.4S, V2.4S, V31.4S: acc[7][8:12] = C[7][8:12] + acc[7][8:12]
	VST1	[V29.S4, V30.S4, V31.S4], (R3)     // C[7][0:12] = acc[7]
	RET

overwrite:
	// C[i][0:12] = acc[i] for each row i; C is not read, so it may hold NaN.
	VST1.P	[V8.S4, V9.S4, V10.S4], (R3)(R4)   // C[0][0:12] = acc[0]
	VST1.P	[V11.S4, V12.S4, V13.S4], (R3)(R4) // C[1][0:12] = acc[1]
	VST1.P	[V14.S4, V15.S4, V16.S4], (R3)(R4) // C[2][0:12] = acc[2]
	VST1.P	[V17.S4, V18.S4, V19.S4], (R3)(R4) // C[3][0:12] = acc[3]
	VST1.P	[V20.S4, V21.S4, V22.S4], (R3)(R4) // C[4][0:12] = acc[4]
	VST1.P	[V23.S4, V24.S4, V25.S4], (R3)(R4) // C[5][0:12] = acc[5]
	VST1.P	[V26.S4, V27.S4, V28.S4], (R3)(R4) // C[6][0:12] = acc[6]
	VST1	[V29.S4, V30.S4, V31.S4], (R3)     // C[7][0:12] = acc[7]
	RET

// The element-wise kernels below take len(first slice) a multiple of 4 and
// run 16 elements (four vectors) per iteration, then single vectors: R2 is
// the count of elements left.

// func axpyNEON(alpha float32, x, y []float32)
TEXT ·axpyNEON(SB), NOSPLIT, $0-56
	FMOVS	alpha+0(FP), F0
	VDUP	V0.S[0], V0.S4          // V0 = alpha in every lane
	MOVD	x_base+8(FP), R0
	MOVD	x_len+16(FP), R2
	MOVD	y_base+32(FP), R1
	CMP	$16, R2
	BLT	axpytail

axpyloop16:
	VLD1.P	64(R0), [V1.S4, V2.S4, V3.S4, V4.S4] // V1..V4 = x[i:i+16]
	VLD1	(R1), [V5.S4, V6.S4, V7.S4, V8.S4]   // V5..V8 = y[i:i+16]
	VFMLA	V0.S4, V1.S4, V5.S4                  // y[i:i+4] += alpha * x[i:i+4]
	VFMLA	V0.S4, V2.S4, V6.S4                  // y[i+4:i+8] += alpha * x[i+4:i+8]
	VFMLA	V0.S4, V3.S4, V7.S4                  // y[i+8:i+12] += alpha * x[i+8:i+12]
	VFMLA	V0.S4, V4.S4, V8.S4                  // y[i+12:i+16] += alpha * x[i+12:i+16]
	VST1.P	[V5.S4, V6.S4, V7.S4, V8.S4], 64(R1) // store y[i:i+16]; i += 16
	SUB	$16, R2
	CMP	$16, R2
	BGE	axpyloop16

axpytail:
	CBZ	R2, axpydone

axpyloop4:
	VLD1.P	16(R0), [V1.S4]     // V1 = x[i:i+4]
	VLD1	(R1), [V5.S4]       // V5 = y[i:i+4]
	VFMLA	V0.S4, V1.S4, V5.S4 // y[i:i+4] += alpha * x[i:i+4]
	VST1.P	[V5.S4], 16(R1)     // store y[i:i+4]; i += 4
	SUBS	$4, R2
	BNE	axpyloop4

axpydone:
	RET

// func scaleNEON(alpha float32, x []float32)
TEXT ·scaleNEON(SB), NOSPLIT, $0-32
	FMOVS	alpha+0(FP), F0
	VDUP	V0.S[0], V0.S4          // V0 = alpha in every lane
	MOVD	x_base+8(FP), R0
	MOVD	x_len+16(FP), R2
	CMP	$16, R2
	BLT	scaletail

scaleloop16:
	VLD1	(R0), [V1.S4, V2.S4, V3.S4, V4.S4]   // V1..V4 = x[i:i+16]
	WORD	$0x6e20dc21                          // FMUL V1.4S, V1.4S, V0.4S: x[i:i+4] * alpha
	WORD	$0x6e20dc42                          // FMUL V2.4S, V2.4S, V0.4S: x[i+4:i+8] * alpha
	WORD	$0x6e20dc63                          // FMUL V3.4S, V3.4S, V0.4S: x[i+8:i+12] * alpha
	WORD	$0x6e20dc84                          // FMUL V4.4S, V4.4S, V0.4S: x[i+12:i+16] * alpha
	VST1.P	[V1.S4, V2.S4, V3.S4, V4.S4], 64(R0) // store x[i:i+16]; i += 16
	SUB	$16, R2
	CMP	$16, R2
	BGE	scaleloop16

scaletail:
	CBZ	R2, scaledone

scaleloop4:
	VLD1	(R0), [V1.S4]   // V1 = x[i:i+4]
	WORD	$0x6e20dc21     // FMUL V1.4S, V1.4S, V0.4S: x[i:i+4] * alpha
	VST1.P	[V1.S4], 16(R0) // store x[i:i+4]; i += 4
	SUBS	$4, R2
	BNE	scaleloop4

scaledone:
	RET

// func addNEON(dst, x, y []float32)
TEXT ·addNEON(SB), NOSPLIT, $0-72
	MOVD	dst_base+0(FP), R3
	MOVD	dst_len+8(FP), R2
	MOVD	x_base+24(FP), R0
	MOVD	y_base+48(FP), R1
	CMP	$16, R2
	BLT	addtail

addloop16:
	VLD1.P	64(R0), [V1.S4, V2.S4, V3.S4, V4.S4] // V1..V4 = x[i:i+16]
	VLD1.P	64(R1), [V5.S4, V6.S4, V7.S4, V8.S4] // V5..V8 = y[i:i+16]
	WORD	$0x4e25d421                          // FADD V1.4S, V1.4S, V5.4S: x[i:i+4] + y[i:i+4]
	WORD	$0x4e26d442                          // FADD V2.4S, V2.4S, V6.4S: x[i+4:i+8] + y[i+4:i+8]
	WORD	$0x4e27d463                          // FADD V3.4S, V3.4S, V7.4S: x[i+8:i+12] + y[i+8:i+12]
	WORD	$0x4e28d484                          // FADD V4.4S, V4.4S, V8.4S: x[i+12:i+16] + y[i+12:i+16]
	VST1.P	[V1.S4, V2.S4, V3.S4, V4.S4], 64(R3) // dst[i:i+16] = the sums; i += 16
	SUB	$16, R2
	CMP	$16, R2
	BGE	addloop16

addtail:
	CBZ	R2, adddone

addloop4:
	VLD1.P	16(R0), [V1.S4] // V1 = x[i:i+4]
	VLD1.P	16(R1), [V5.S4] // V5 = y[i:i+4]
	WORD	$0x4e25d421     // FADD V1.4S, V1.4S, V5.4S: x[i:i+4] + y[i:i+4]
	VST1.P	[V1.S4], 16(R3) // dst[i:i+4] = the sums; i += 4
	SUBS	$4, R2
	BNE	addloop4

adddone:
	RET

// func mulNEON(dst, x, y []float32)
TEXT ·mulNEON(SB), NOSPLIT, $0-72
	MOVD	dst_base+0(FP), R3
	MOVD	dst_len+8(FP), R2
	MOVD	x_base+24(FP), R0
	MOVD	y_base+48(FP), R1
	CMP	$16, R2
	BLT	multail

mulloop16:
	VLD1.P	64(R0), [V1.S4, V2.S4, V3.S4, V4.S4] // V1..V4 = x[i:i+16]
	VLD1.P	64(R1), [V5.S4, V6.S4, V7.S4, V8.S4] // V5..V8 = y[i:i+16]
	WORD	$0x6e25dc21                          // FMUL V1.4S, V1.4S, V5.4S: x[i:i+4] * y[i:i+4]
	WORD	$0x6e26dc42                          // FMUL V2.4S, V2.4S, V6.4S: x[i+4:i+8] * y[i+4:i+8]
	WORD	$0x6e27dc63                          // FMUL V3.4S, V3.4S, V7.4S: x[i+8:i+12] * y[i+8:i+12]
	WORD	$0x6e28dc84                          // FMUL V4.4S, V4.4S, V8.4S: x[i+12:i+16] * y[i+12:i+16]
	VST1.P	[V1.S4, V2.S4, V3.S4, V4.S4], 64(R3) // dst[i:i+16] = the products; i += 16
	SUB	$16, R2
	CMP	$16, R2
	BGE	mulloop16

multail:
	CBZ	R2, muldone

mulloop4:
	VLD1.P	16(R0), [V1.S4] // V1 = x[i:i+4]
	VLD1.P	16(R1), [V5.S4] // V5 = y[i:i+4]
	WORD	$0x6e25dc21     // FMUL V1.4S, V1.4S, V5.4S: x[i:i+4] * y[i:i+4]
	VST1.P	[V1.S4], 16(R3) // dst[i:i+4] = the products; i += 4
	SUBS	$4, R2
	BNE	mulloop4

muldone:
	RET

// func reluNEON(dst, x []float32)
//
// mask = (x <= 0), all ones or all zeros per lane and false for NaN; then
// BIT inserts zero bits where mask is set, so dst = x &^ mask: x itself
// (NaN included, payload and all) or +0 (for -0 too).
TEXT ·reluNEON(SB), NOSPLIT, $0-48
	MOVD	dst_base+0(FP), R3
	MOVD	dst_len+8(FP), R2
	MOVD	x_base+24(FP), R0
	VEOR	V31.B16, V31.B16, V31.B16 // V31 = +0 in every lane
	CMP	$16, R2
	BLT	relutail

reluloop16:
	VLD1.P	64(R0), [V1.S4, V2.S4, V3.S4, V4.S4] // V1..V4 = x[i:i+16]
	WORD	$0x6ea0d825                          // FCMLE V5.4S, V1.4S, #0: mask of x[i:i+4] <= 0
	WORD	$0x6ea0d846                          // FCMLE V6.4S, V2.4S, #0: mask of x[i+4:i+8] <= 0
	WORD	$0x6ea0d867                          // FCMLE V7.4S, V3.4S, #0: mask of x[i+8:i+12] <= 0
	WORD	$0x6ea0d888                          // FCMLE V8.4S, V4.4S, #0: mask of x[i+12:i+16] <= 0
	VBIT	V5.B16, V31.B16, V1.B16              // x[i:i+4] &^ mask
	VBIT	V6.B16, V31.B16, V2.B16              // x[i+4:i+8] &^ mask
	VBIT	V7.B16, V31.B16, V3.B16              // x[i+8:i+12] &^ mask
	VBIT	V8.B16, V31.B16, V4.B16              // x[i+12:i+16] &^ mask
	VST1.P	[V1.S4, V2.S4, V3.S4, V4.S4], 64(R3) // dst[i:i+16] = the results; i += 16
	SUB	$16, R2
	CMP	$16, R2
	BGE	reluloop16

relutail:
	CBZ	R2, reludone

reluloop4:
	VLD1.P	16(R0), [V1.S4]         // V1 = x[i:i+4]
	WORD	$0x6ea0d825             // FCMLE V5.4S, V1.4S, #0: mask of x[i:i+4] <= 0
	VBIT	V5.B16, V31.B16, V1.B16 // x[i:i+4] &^ mask
	VST1.P	[V1.S4], 16(R3)         // dst[i:i+4] = the results; i += 4
	SUBS	$4, R2
	BNE	reluloop4

reludone:
	RET

// The reductions keep s[j] (j = 0..7, four lanes each) in V0..V7 and
// combine them as reduce32 does.

// func dotNEON(x, y []float32) float32
TEXT ·dotNEON(SB), NOSPLIT, $0-52
	MOVD	x_base+0(FP), R0
	MOVD	x_len+8(FP), R2
	MOVD	y_base+24(FP), R1
	VEOR	V0.B16, V0.B16, V0.B16 // s[0..7] = 0
	VEOR	V1.B16, V1.B16, V1.B16
	VEOR	V2.B16, V2.B16, V2.B16
	VEOR	V3.B16, V3.B16, V3.B16
	VEOR	V4.B16, V4.B16, V4.B16
	VEOR	V5.B16, V5.B16, V5.B16
	VEOR	V6.B16, V6.B16, V6.B16
	VEOR	V7.B16, V7.B16, V7.B16
	CMP	$32, R2
	BLT	dottail

dotloop32:
	VLD1.P	64(R0), [V16.S4, V17.S4, V18.S4, V19.S4] // V16..V19 = x[i:i+16]
	VLD1.P	64(R0), [V20.S4, V21.S4, V22.S4, V23.S4] // V20..V23 = x[i+16:i+32]
	VLD1.P	64(R1), [V24.S4, V25.S4, V26.S4, V27.S4] // V24..V27 = y[i:i+16]
	VLD1.P	64(R1), [V28.S4, V29.S4, V30.S4, V31.S4] // V28..V31 = y[i+16:i+32]; i += 32
	VFMLA	V16.S4, V24.S4, V0.S4                    // s[0] += x[i:i+4] * y[i:i+4]
	VFMLA	V17.S4, V25.S4, V1.S4                    // s[1] += x[i+4:i+8] * y[i+4:i+8]
	VFMLA	V18.S4, V26.S4, V2.S4                    // s[2] += x[i+8:i+12] * y[i+8:i+12]
	VFMLA	V19.S4, V27.S4, V3.S4                    // s[3] += x[i+12:i+16] * y[i+12:i+16]
	VFMLA	V20.S4, V28.S4, V4.S4                    // s[4] += x[i+16:i+20] * y[i+16:i+20]
	VFMLA	V21.S4, V29.S4, V5.S4                    // s[5] += x[i+20:i+24] * y[i+20:i+24]
	VFMLA	V22.S4, V30.S4, V6.S4                    // s[6] += x[i+24:i+28] * y[i+24:i+28]
	VFMLA	V23.S4, V31.S4, V7.S4                    // s[7] += x[i+28:i+32] * y[i+28:i+32]
	SUB	$32, R2
	CMP	$32, R2
	BGE	dotloop32

dottail:
	CBZ	R2, dotreduce

dotloop4:
	VLD1.P	16(R0), [V16.S4]      // V16 = x[i:i+4]
	VLD1.P	16(R1), [V24.S4]      // V24 = y[i:i+4]; i += 4
	VFMLA	V16.S4, V24.S4, V0.S4 // s[0] += x[i:i+4] * y[i:i+4]
	SUBS	$4, R2
	BNE	dotloop4

dotreduce:
	WORD	$0x4e21d400     // FADD V0.4S, V0.4S, V1.4S: s[0] + s[1]
	WORD	$0x4e23d442     // FADD V2.4S, V2.4S, V3.4S: s[2] + s[3]
	WORD	$0x4e25d484     // FADD V4.4S, V4.4S, V5.4S: s[4] + s[5]
	WORD	$0x4e27d4c6     // FADD V6.4S, V6.4S, V7.4S: s[6] + s[7]
	WORD	$0x4e22d400     // FADD V0.4S, V0.4S, V2.4S: (s[0]+s[1]) + (s[2]+s[3])
	WORD	$0x4e26d484     // FADD V4.4S, V4.4S, V6.4S: (s[4]+s[5]) + (s[6]+s[7])
	WORD	$0x4e24d400     // FADD V0.4S, V0.4S, V4.4S: v = the two halves added
	WORD	$0x6e20d400     // FADDP V0.4S, V0.4S, V0.4S: v[0]+v[1], v[2]+v[3] in lanes 0, 1
	WORD	$0x7e30d800     // FADDP S0, V0.2S: (v[0]+v[1]) + (v[2]+v[3])
	FMOVS	F0, ret+48(FP)
	RET

// func sumNEON(x []float32) float32
TEXT ·sumNEON(SB), NOSPLIT, $0-28
	MOVD	x_base+0(FP), R0
	MOVD	x_len+8(FP), R2
	VEOR	V0.B16, V0.B16, V0.B16 // s[0..7] = 0
	VEOR	V1.B16, V1.B16, V1.B16
	VEOR	V2.B16, V2.B16, V2.B16
	VEOR	V3.B16, V3.B16, V3.B16
	VEOR	V4.B16, V4.B16, V4.B16
	VEOR	V5.B16, V5.B16, V5.B16
	VEOR	V6.B16, V6.B16, V6.B16
	VEOR	V7.B16, V7.B16, V7.B16
	CMP	$32, R2
	BLT	sumtail

sumloop32:
	VLD1.P	64(R0), [V16.S4, V17.S4, V18.S4, V19.S4] // V16..V19 = x[i:i+16]
	VLD1.P	64(R0), [V20.S4, V21.S4, V22.S4, V23.S4] // V20..V23 = x[i+16:i+32]; i += 32
	WORD	$0x4e30d400                              // FADD V0.4S, V0.4S, V16.4S: s[0] += x[i:i+4]
	WORD	$0x4e31d421                              // FADD V1.4S, V1.4S, V17.4S: s[1] += x[i+4:i+8]
	WORD	$0x4e32d442                              // FADD V2.4S, V2.4S, V18.4S: s[2] += x[i+8:i+12]
	WORD	$0x4e33d463                              // FADD V3.4S, V3.4S, V19.4S: s[3] += x[i+12:i+16]
	WORD	$0x4e34d484                              // FADD V4.4S, V4.4S, V20.4S: s[4] += x[i+16:i+20]
	WORD	$0x4e35d4a5                              // FADD V5.4S, V5.4S, V21.4S: s[5] += x[i+20:i+24]
	WORD	$0x4e36d4c6                              // FADD V6.4S, V6.4S, V22.4S: s[6] += x[i+24:i+28]
	WORD	$0x4e37d4e7                              // FADD V7.4S, V7.4S, V23.4S: s[7] += x[i+28:i+32]
	SUB	$32, R2
	CMP	$32, R2
	BGE	sumloop32

sumtail:
	CBZ	R2, sumreduce

sumloop4:
	VLD1.P	16(R0), [V16.S4] // V16 = x[i:i+4]; i += 4
	WORD	$0x4e30d400      // FADD V0.4S, V0.4S, V16.4S: s[0] += x[i:i+4]
	SUBS	$4, R2
	BNE	sumloop4

sumreduce:
	WORD	$0x4e21d400     // FADD V0.4S, V0.4S, V1.4S: s[0] + s[1]
	WORD	$0x4e23d442     // FADD V2.4S, V2.4S, V3.4S: s[2] + s[3]
	WORD	$0x4e25d484     // FADD V4.4S, V4.4S, V5.4S: s[4] + s[5]
	WORD	$0x4e27d4c6     // FADD V6.4S, V6.4S, V7.4S: s[6] + s[7]
	WORD	$0x4e22d400     // FADD V0.4S, V0.4S, V2.4S: (s[0]+s[1]) + (s[2]+s[3])
	WORD	$0x4e26d484     // FADD V4.4S, V4.4S, V6.4S: (s[4]+s[5]) + (s[6]+s[7])
	WORD	$0x4e24d400     // FADD V0.4S, V0.4S, V4.4S: v = the two halves added
	WORD	$0x6e20d400     // FADDP V0.4S, V0.4S, V0.4S: v[0]+v[1], v[2]+v[3] in lanes 0, 1
	WORD	$0x7e30d800     // FADDP S0, V0.2S: (v[0]+v[1]) + (v[2]+v[3])
	FMOVS	F0, ret+24(FP)
	RET

// The batch-norm kernels below go 16 floats (four vectors) at a time, then
// 4. Their missing instructions are macros over WORD encodings (d, n, m
// are register numbers, Arm's order):
// FADD4S(d, n, m): FADD Vd.4S, Vn.4S, Vm.4S; FSUB4S: FSUB (Vn − Vm);
// CMGTZ4S(d, n): CMGT Vd.4S, Vn.4S, #0 (signed integer compare);
// FCMLEZ4S(d, n): FCMLE Vd.4S, Vn.4S, #0; REDUCE4(a, b, c, d): S(a) =
// ((Va + Vb) + (Vc + Vd)) added across lanes pairwise, as sumNEON does.
#define FADD4S(d, n, m) WORD $(0x4e20d400 | ((m)<<16) | ((n)<<5) | (d))
#define FSUB4S(d, n, m) WORD $(0x4ea0d400 | ((m)<<16) | ((n)<<5) | (d))
#define CMGTZ4S(d, n) WORD $(0x4ea08800 | ((n)<<5) | (d))
#define FCMLEZ4S(d, n) WORD $(0x6ea0d800 | ((n)<<5) | (d))
#define REDUCE4(a, b, c, d) \
	FADD4S(a, a, b); \
	FADD4S(c, c, d); \
	FADD4S(a, a, c); \
	WORD	$(0x6e20d400 | ((a)<<16) | ((a)<<5) | (a)); \
	WORD	$(0x7e30d800 | ((a)<<5) | (a))

// func sumSquaredDevNEON(x []float32, m float32) float32
//
// V31 = m; V0, V1 = s[0:4], s[4:8], sumSquaredDevGeneric's eight partial
// sums (len is a multiple of 8), combined as its reduce8 does.
TEXT ·sumSquaredDevNEON(SB), NOSPLIT, $0-36
	MOVD	x_base+0(FP), R0
	MOVD	x_len+8(FP), R2
	FMOVS	m+24(FP), F31
	VDUP	V31.S[0], V31.S4
	VEOR	V0.B16, V0.B16, V0.B16
	VEOR	V1.B16, V1.B16, V1.B16
	CBZ	R2, ssdreduce

ssdloop8:
	VLD1.P	32(R0), [V16.S4, V17.S4] // x[i:i+8]
	FSUB4S(16, 16, 31)               // d = x − m
	FSUB4S(17, 17, 31)
	VFMLA	V16.S4, V16.S4, V0.S4    // s[0:4] += d² in one rounding, as Go fuses s += d*d on arm64
	VFMLA	V17.S4, V17.S4, V1.S4    // s[4:8] += d²
	SUBS	$8, R2
	BNE	ssdloop8

ssdreduce:
	FADD4S(0, 0, 1)                              // w = s[0:4] + s[4:8]
	WORD	$0x6e20d400                          // FADDP V0.4S, V0.4S, V0.4S: w0+w1, w2+w3
	WORD	$0x7e30d800                          // FADDP S0, V0.2S: (w0+w1) + (w2+w3)
	FMOVS	F0, ret+32(FP)
	RET

// func combineNEON(dst, x, y []float32, a, b, c float32)
//
// dst = a·x + (b·y + c), two fused steps from c, as combineAVX2.
// V28, V29, V30 = a, b, c; R0 x, R1 y, R3 dst.
TEXT ·combineNEON(SB), NOSPLIT, $0-84
	MOVD	dst_base+0(FP), R3
	MOVD	dst_len+8(FP), R2
	MOVD	x_base+24(FP), R0
	MOVD	y_base+48(FP), R1
	FMOVS	a+72(FP), F28
	VDUP	V28.S[0], V28.S4
	FMOVS	b+76(FP), F29
	VDUP	V29.S[0], V29.S4
	FMOVS	c+80(FP), F30
	VDUP	V30.S[0], V30.S4
	CMP	$16, R2
	BLT	combinetail

combineloop16:
	VLD1.P	64(R0), [V16.S4, V17.S4, V18.S4, V19.S4] // x[i:i+16]
	VLD1.P	64(R1), [V20.S4, V21.S4, V22.S4, V23.S4] // y[i:i+16]
	VORR	V30.B16, V30.B16, V0.B16                 // t = c
	VORR	V30.B16, V30.B16, V1.B16
	VORR	V30.B16, V30.B16, V2.B16
	VORR	V30.B16, V30.B16, V3.B16
	VFMLA	V29.S4, V20.S4, V0.S4                    // t += b·y
	VFMLA	V29.S4, V21.S4, V1.S4
	VFMLA	V29.S4, V22.S4, V2.S4
	VFMLA	V29.S4, V23.S4, V3.S4
	VFMLA	V28.S4, V16.S4, V0.S4                    // t += a·x
	VFMLA	V28.S4, V17.S4, V1.S4
	VFMLA	V28.S4, V18.S4, V2.S4
	VFMLA	V28.S4, V19.S4, V3.S4
	VST1.P	[V0.S4, V1.S4, V2.S4, V3.S4], 64(R3)     // dst[i:i+16] = t
	SUB	$16, R2
	CMP	$16, R2
	BGE	combineloop16

combinetail:
	CBZ	R2, combinedone

combineloop4:
	VLD1.P	16(R0), [V16.S4]
	VLD1.P	16(R1), [V20.S4]
	VORR	V30.B16, V30.B16, V0.B16
	VFMLA	V29.S4, V20.S4, V0.S4
	VFMLA	V28.S4, V16.S4, V0.S4
	VST1.P	[V0.S4], 16(R3)
	SUBS	$4, R2
	BNE	combineloop4

combinedone:
	RET

// The affine kernels: t = a·x + b in one rounding (from b), then + r
// (AFFADD), then ReLU (AFFRELU: FCMLE marks t <= 0, false for NaN, and BIT
// puts +0 there), as the affine*AVX2 kernels. R0 x, R1 r, R3 dst; V28, V29
// = a, b; V31 = +0.
#define AFF16 \
	VLD1.P	64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]; \
	VORR	V29.B16, V29.B16, V0.B16; \
	VORR	V29.B16, V29.B16, V1.B16; \
	VORR	V29.B16, V29.B16, V2.B16; \
	VORR	V29.B16, V29.B16, V3.B16; \
	VFMLA	V28.S4, V16.S4, V0.S4; \
	VFMLA	V28.S4, V17.S4, V1.S4; \
	VFMLA	V28.S4, V18.S4, V2.S4; \
	VFMLA	V28.S4, V19.S4, V3.S4
#define AFFADD16 \
	VLD1.P	64(R1), [V20.S4, V21.S4, V22.S4, V23.S4]; \
	FADD4S(0, 0, 20); \
	FADD4S(1, 1, 21); \
	FADD4S(2, 2, 22); \
	FADD4S(3, 3, 23)
#define AFFRELU16 \
	FCMLEZ4S(4, 0); \
	FCMLEZ4S(5, 1); \
	FCMLEZ4S(6, 2); \
	FCMLEZ4S(7, 3); \
	VBIT	V4.B16, V31.B16, V0.B16; \
	VBIT	V5.B16, V31.B16, V1.B16; \
	VBIT	V6.B16, V31.B16, V2.B16; \
	VBIT	V7.B16, V31.B16, V3.B16
#define AFF4 \
	VLD1.P	16(R0), [V16.S4]; \
	VORR	V29.B16, V29.B16, V0.B16; \
	VFMLA	V28.S4, V16.S4, V0.S4
#define AFFADD4 \
	VLD1.P	16(R1), [V20.S4]; \
	FADD4S(0, 0, 20)
#define AFFRELU4 \
	FCMLEZ4S(4, 0); \
	VBIT	V4.B16, V31.B16, V0.B16
#define AFFSETUP(aoff, boff) \
	MOVD	dst_base+0(FP), R3; \
	MOVD	dst_len+8(FP), R2; \
	MOVD	x_base+24(FP), R0; \
	FMOVS	aoff(FP), F28; \
	VDUP	V28.S[0], V28.S4; \
	FMOVS	boff(FP), F29; \
	VDUP	V29.S[0], V29.S4; \
	VEOR	V31.B16, V31.B16, V31.B16

// func affineNEON(dst, x []float32, a, b float32)
TEXT ·affineNEON(SB), NOSPLIT, $0-56
	AFFSETUP(a+48, b+52)
	CMP	$16, R2
	BLT	afftail

affloop16:
	AFF16
	VST1.P	[V0.S4, V1.S4, V2.S4, V3.S4], 64(R3)
	SUB	$16, R2
	CMP	$16, R2
	BGE	affloop16

afftail:
	CBZ	R2, affdone

affloop4:
	AFF4
	VST1.P	[V0.S4], 16(R3)
	SUBS	$4, R2
	BNE	affloop4

affdone:
	RET

// func affineReluNEON(dst, x []float32, a, b float32)
TEXT ·affineReluNEON(SB), NOSPLIT, $0-56
	AFFSETUP(a+48, b+52)
	CMP	$16, R2
	BLT	affrtail

affrloop16:
	AFF16
	AFFRELU16
	VST1.P	[V0.S4, V1.S4, V2.S4, V3.S4], 64(R3)
	SUB	$16, R2
	CMP	$16, R2
	BGE	affrloop16

affrtail:
	CBZ	R2, affrdone

affrloop4:
	AFF4
	AFFRELU4
	VST1.P	[V0.S4], 16(R3)
	SUBS	$4, R2
	BNE	affrloop4

affrdone:
	RET

// func affineAddNEON(dst, x, r []float32, a, b float32)
TEXT ·affineAddNEON(SB), NOSPLIT, $0-80
	AFFSETUP(a+72, b+76)
	MOVD	r_base+48(FP), R1
	CMP	$16, R2
	BLT	affatail

affaloop16:
	AFF16
	AFFADD16
	VST1.P	[V0.S4, V1.S4, V2.S4, V3.S4], 64(R3)
	SUB	$16, R2
	CMP	$16, R2
	BGE	affaloop16

affatail:
	CBZ	R2, affadone

affaloop4:
	AFF4
	AFFADD4
	VST1.P	[V0.S4], 16(R3)
	SUBS	$4, R2
	BNE	affaloop4

affadone:
	RET

// func affineAddReluNEON(dst, x, r []float32, a, b float32)
TEXT ·affineAddReluNEON(SB), NOSPLIT, $0-80
	AFFSETUP(a+72, b+76)
	MOVD	r_base+48(FP), R1
	CMP	$16, R2
	BLT	affartail

affarloop16:
	AFF16
	AFFADD16
	AFFRELU16
	VST1.P	[V0.S4, V1.S4, V2.S4, V3.S4], 64(R3)
	SUB	$16, R2
	CMP	$16, R2
	BGE	affarloop16

affartail:
	CBZ	R2, affardone

affarloop4:
	AFF4
	AFFADD4
	AFFRELU4
	VST1.P	[V0.S4], 16(R3)
	SUBS	$4, R2
	BNE	affarloop4

affardone:
	RET

// The gradSums kernels: g′ = g, or (GSMASK) g where int32(y) > 0 (CMGT
// against zero, then AND), stored to dst (GSSTORE); s[j] += g′ and
// t[j] += g′·(x − m) in one rounding, for the vectors j = 0..3 of each 16
// (the last whole vectors go to j = 0), returned as REDUCE4 combines them.
// R0 g, R1 x, R4 y, R3 dst; V31 = m; V0..V3 = s, V4..V7 = t.
#define GSLOAD16 VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
#define GSMASK16 \
	VLD1.P	64(R4), [V20.S4, V21.S4, V22.S4, V23.S4]; \
	CMGTZ4S(20, 20); \
	CMGTZ4S(21, 21); \
	CMGTZ4S(22, 22); \
	CMGTZ4S(23, 23); \
	VAND	V20.B16, V16.B16, V16.B16; \
	VAND	V21.B16, V17.B16, V17.B16; \
	VAND	V22.B16, V18.B16, V18.B16; \
	VAND	V23.B16, V19.B16, V19.B16
#define GSSTORE16 VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R3)
#define GSSUMS16 \
	FADD4S(0, 0, 16); \
	FADD4S(1, 1, 17); \
	FADD4S(2, 2, 18); \
	FADD4S(3, 3, 19); \
	VLD1.P	64(R1), [V24.S4, V25.S4, V26.S4, V27.S4]; \
	FSUB4S(24, 24, 31); \
	FSUB4S(25, 25, 31); \
	FSUB4S(26, 26, 31); \
	FSUB4S(27, 27, 31); \
	VFMLA	V24.S4, V16.S4, V4.S4; \
	VFMLA	V25.S4, V17.S4, V5.S4; \
	VFMLA	V26.S4, V18.S4, V6.S4; \
	VFMLA	V27.S4, V19.S4, V7.S4
#define GSLOAD4 VLD1.P 16(R0), [V16.S4]
#define GSMASK4 \
	VLD1.P	16(R4), [V20.S4]; \
	CMGTZ4S(20, 20); \
	VAND	V20.B16, V16.B16, V16.B16
#define GSSTORE4 VST1.P [V16.S4], 16(R3)
#define GSSUMS4 \
	FADD4S(0, 0, 16); \
	VLD1.P	16(R1), [V24.S4]; \
	FSUB4S(24, 24, 31); \
	VFMLA	V24.S4, V16.S4, V4.S4
#define GSSETUP(moff) \
	FMOVS	moff(FP), F31; \
	VDUP	V31.S[0], V31.S4; \
	VEOR	V0.B16, V0.B16, V0.B16; \
	VEOR	V1.B16, V1.B16, V1.B16; \
	VEOR	V2.B16, V2.B16, V2.B16; \
	VEOR	V3.B16, V3.B16, V3.B16; \
	VEOR	V4.B16, V4.B16, V4.B16; \
	VEOR	V5.B16, V5.B16, V5.B16; \
	VEOR	V6.B16, V6.B16, V6.B16; \
	VEOR	V7.B16, V7.B16, V7.B16

// func gradSumsNEON(g, x []float32, m float32) (sg, sgx float32)
TEXT ·gradSumsNEON(SB), NOSPLIT, $0-64
	MOVD	g_base+0(FP), R0
	MOVD	g_len+8(FP), R2
	MOVD	x_base+24(FP), R1
	GSSETUP(m+48)
	CMP	$16, R2
	BLT	gstail

gsloop16:
	GSLOAD16
	GSSUMS16
	SUB	$16, R2
	CMP	$16, R2
	BGE	gsloop16

gstail:
	CBZ	R2, gsreduce

gsloop4:
	GSLOAD4
	GSSUMS4
	SUBS	$4, R2
	BNE	gsloop4

gsreduce:
	REDUCE4(0, 1, 2, 3)
	REDUCE4(4, 5, 6, 7)
	FMOVS	F0, sg+56(FP)
	FMOVS	F4, sgx+60(FP)
	RET

// func gradSumsStoreNEON(dst, g, x []float32, m float32) (sg, sgx float32)
TEXT ·gradSumsStoreNEON(SB), NOSPLIT, $0-88
	MOVD	dst_base+0(FP), R3
	MOVD	g_base+24(FP), R0
	MOVD	g_len+32(FP), R2
	MOVD	x_base+48(FP), R1
	GSSETUP(m+72)
	CMP	$16, R2
	BLT	gsstail

gssloop16:
	GSLOAD16
	GSSTORE16
	GSSUMS16
	SUB	$16, R2
	CMP	$16, R2
	BGE	gssloop16

gsstail:
	CBZ	R2, gssreduce

gssloop4:
	GSLOAD4
	GSSTORE4
	GSSUMS4
	SUBS	$4, R2
	BNE	gssloop4

gssreduce:
	REDUCE4(0, 1, 2, 3)
	REDUCE4(4, 5, 6, 7)
	FMOVS	F0, sg+80(FP)
	FMOVS	F4, sgx+84(FP)
	RET

// func gradSumsMaskNEON(g, y, x []float32, m float32) (sg, sgx float32)
TEXT ·gradSumsMaskNEON(SB), NOSPLIT, $0-88
	MOVD	g_base+0(FP), R0
	MOVD	g_len+8(FP), R2
	MOVD	y_base+24(FP), R4
	MOVD	x_base+48(FP), R1
	GSSETUP(m+72)
	CMP	$16, R2
	BLT	gsmtail

gsmloop16:
	GSLOAD16
	GSMASK16
	GSSUMS16
	SUB	$16, R2
	CMP	$16, R2
	BGE	gsmloop16

gsmtail:
	CBZ	R2, gsmreduce

gsmloop4:
	GSLOAD4
	GSMASK4
	GSSUMS4
	SUBS	$4, R2
	BNE	gsmloop4

gsmreduce:
	REDUCE4(0, 1, 2, 3)
	REDUCE4(4, 5, 6, 7)
	FMOVS	F0, sg+80(FP)
	FMOVS	F4, sgx+84(FP)
	RET

// func gradSumsMaskStoreNEON(dst, g, y, x []float32, m float32) (sg, sgx float32)
TEXT ·gradSumsMaskStoreNEON(SB), NOSPLIT, $0-112
	MOVD	dst_base+0(FP), R3
	MOVD	g_base+24(FP), R0
	MOVD	g_len+32(FP), R2
	MOVD	y_base+48(FP), R4
	MOVD	x_base+72(FP), R1
	GSSETUP(m+96)
	CMP	$16, R2
	BLT	gsmstail

gsmsloop16:
	GSLOAD16
	GSMASK16
	GSSTORE16
	GSSUMS16
	SUB	$16, R2
	CMP	$16, R2
	BGE	gsmsloop16

gsmstail:
	CBZ	R2, gsmsreduce

gsmsloop4:
	GSLOAD4
	GSMASK4
	GSSTORE4
	GSSUMS4
	SUBS	$4, R2
	BNE	gsmsloop4

gsmsreduce:
	REDUCE4(0, 1, 2, 3)
	REDUCE4(4, 5, 6, 7)
	FMOVS	F0, sg+104(FP)
	FMOVS	F4, sgx+108(FP)
	RET

// func sgemmShifted4x16NEON(kc int, a, b *float32, off *int, c *float32, ldc int)
TEXT ·sgemmShifted4x16NEON(SB), NOSPLIT, $0-48
	MOVD	kc+0(FP), R0
	MOVD	a+8(FP), R1
	MOVD	b+16(FP), R2
	MOVD	off+24(FP), R3

	// acc[i][j] = V(8+4i+j) holds C[i][4j:4j+4] of the tile; the sums start from zero.
	VEOR	V8.B16, V8.B16, V8.B16
	VEOR	V9.B16, V9.B16, V9.B16
	VEOR	V10.B16, V10.B16, V10.B16
	VEOR	V11.B16, V11.B16, V11.B16
	VEOR	V12.B16, V12.B16, V12.B16
	VEOR	V13.B16, V13.B16, V13.B16
	VEOR	V14.B16, V14.B16, V14.B16
	VEOR	V15.B16, V15.B16, V15.B16
	VEOR	V16.B16, V16.B16, V16.B16
	VEOR	V17.B16, V17.B16, V17.B16
	VEOR	V18.B16, V18.B16, V18.B16
	VEOR	V19.B16, V19.B16, V19.B16
	VEOR	V20.B16, V20.B16, V20.B16
	VEOR	V21.B16, V21.B16, V21.B16
	VEOR	V22.B16, V22.B16, V22.B16
	VEOR	V23.B16, V23.B16, V23.B16

shiftedkloop:
	MOVD.P	8(R3), R4                          // R4 = off[p]; off = off[1:]
	ADD	R4<<2, R2, R5                        // R5 = &b[off[p]]
	VLD1	(R5), [V2.S4, V3.S4, V4.S4, V5.S4]  // V2..V5 = b[off[p] : off[p]+16]
	VLD1.P	16(R1), [V0.S4]                   // V0 = a[p][0:4]; a = a[4:]
	WORD	$0x4f801048                   // FMLA V8.4S, V2.4S, V0.S[0]: acc[0][0:4] += b[off[p]+0:][:4] * a[p][0]
	WORD	$0x4f801069                   // FMLA V9.4S, V3.4S, V0.S[0]: acc[0][4:8] += b[off[p]+4:][:4] * a[p][0]
	WORD	$0x4f80108a                   // FMLA V10.4S, V4.4S, V0.S[0]: acc[0][8:12] += b[off[p]+8:][:4] * a[p][0]
	WORD	$0x4f8010ab                   // FMLA V11.4S, V5.4S, V0.S[0]: acc[0][12:16] += b[off[p]+12:][:4] * a[p][0]
	WORD	$0x4fa0104c                   // FMLA V12.4S, V2.4S, V0.S[1]: acc[1][0:4] += b[off[p]+0:][:4] * a[p][1]
	WORD	$0x4fa0106d                   // FMLA V13.4S, V3.4S, V0.S[1]: acc[1][4:8] += b[off[p]+4:][:4] * a[p][1]
	WORD	$0x4fa0108e                   // FMLA V14.4S, V4.4S, V0.S[1]: acc[1][8:12] += b[off[p]+8:][:4] * a[p][1]
	WORD	$0x4fa010af                   // FMLA V15.4S, V5.4S, V0.S[1]: acc[1][12:16] += b[off[p]+12:][:4] * a[p][1]
	WORD	$0x4f801850                   // FMLA V16.4S, V2.4S, V0.S[2]: acc[2][0:4] += b[off[p]+0:][:4] * a[p][2]
	WORD	$0x4f801871                   // FMLA V17.4S, V3.4S, V0.S[2]: acc[2][4:8] += b[off[p]+4:][:4] * a[p][2]
	WORD	$0x4f801892                   // FMLA V18.4S, V4.4S, V0.S[2]: acc[2][8:12] += b[off[p]+8:][:4] * a[p][2]
	WORD	$0x4f8018b3                   // FMLA V19.4S, V5.4S, V0.S[2]: acc[2][12:16] += b[off[p]+12:][:4] * a[p][2]
	WORD	$0x4fa01854                   // FMLA V20.4S, V2.4S, V0.S[3]: acc[3][0:4] += b[off[p]+0:][:4] * a[p][3]
	WORD	$0x4fa01875                   // FMLA V21.4S, V3.4S, V0.S[3]: acc[3][4:8] += b[off[p]+4:][:4] * a[p][3]
	WORD	$0x4fa01896                   // FMLA V22.4S, V4.4S, V0.S[3]: acc[3][8:12] += b[off[p]+8:][:4] * a[p][3]
	WORD	$0x4fa018b7                   // FMLA V23.4S, V5.4S, V0.S[3]: acc[3][12:16] += b[off[p]+12:][:4] * a[p][3]
	SUBS	$1, R0
	BNE	shiftedkloop

	MOVD	c+32(FP), R6
	MOVD	ldc+40(FP), R7
	LSL	$2, R7                                // ldc in bytes
	VST1.P	[V8.S4, V9.S4, V10.S4, V11.S4], (R6)(R7) // C[0][0:16] = acc[0]
	VST1.P	[V12.S4, V13.S4, V14.S4, V15.S4], (R6)(R7) // C[1][0:16] = acc[1]
	VST1.P	[V16.S4, V17.S4, V18.S4, V19.S4], (R6)(R7) // C[2][0:16] = acc[2]
	VST1.P	[V20.S4, V21.S4, V22.S4, V23.S4], (R6)(R7) // C[3][0:16] = acc[3]
	RET

// func sgemmShiftedGrad4x3NEON(quads int, gy *float32, ldg int, b *float32, off *int, c *float32, ldc int)
TEXT ·sgemmShiftedGrad4x3NEON(SB), NOSPLIT, $0-56
	MOVD	quads+0(FP), R0
	MOVD	gy+8(FP), R1                 // R1, R3, R4, R5 = &gy[i*ldg] for rows i = 0..3
	MOVD	ldg+16(FP), R2
	LSL	$2, R2
	ADD	R2, R1, R3
	ADD	R2, R3, R4
	ADD	R2, R4, R5
	MOVD	b+24(FP), R6
	MOVD	off+32(FP), R7
	MOVD	(R7), R8                     // R8, R9, R10 = &b[off[p]] for p = 0..2
	ADD	R8<<2, R6, R8
	MOVD	8(R7), R9
	ADD	R9<<2, R6, R9
	MOVD	16(R7), R10
	ADD	R10<<2, R6, R10

	// acc[i][p] = V(8+3i+p) holds four partial sums of C[i][p].
	VEOR	V8.B16, V8.B16, V8.B16
	VEOR	V9.B16, V9.B16, V9.B16
	VEOR	V10.B16, V10.B16, V10.B16
	VEOR	V11.B16, V11.B16, V11.B16
	VEOR	V12.B16, V12.B16, V12.B16
	VEOR	V13.B16, V13.B16, V13.B16
	VEOR	V14.B16, V14.B16, V14.B16
	VEOR	V15.B16, V15.B16, V15.B16
	VEOR	V16.B16, V16.B16, V16.B16
	VEOR	V17.B16, V17.B16, V17.B16
	VEOR	V18.B16, V18.B16, V18.B16
	VEOR	V19.B16, V19.B16, V19.B16

shiftedgloop:
	VLD1.P	16(R8), [V0.S4]  // V0..V2 = the windows b[off[p]+j:][:4]; j += 4
	VLD1.P	16(R9), [V1.S4]
	VLD1.P	16(R10), [V2.S4]
	VLD1.P	16(R1), [V3.S4]  // V3 = gy[0][j:j+4]
	VFMLA	V0.S4, V3.S4, V8.S4 // acc[0][0] += gy[0][j:j+4] * b[off[0]+j:][:4]
	VFMLA	V1.S4, V3.S4, V9.S4 // acc[0][1] += gy[0][j:j+4] * b[off[1]+j:][:4]
	VFMLA	V2.S4, V3.S4, V10.S4 // acc[0][2] += gy[0][j:j+4] * b[off[2]+j:][:4]
	VLD1.P	16(R3), [V3.S4]  // V3 = gy[1][j:j+4]
	VFMLA	V0.S4, V3.S4, V11.S4 // acc[1][0] += gy[1][j:j+4] * b[off[0]+j:][:4]
	VFMLA	V1.S4, V3.S4, V12.S4 // acc[1][1] += gy[1][j:j+4] * b[off[1]+j:][:4]
	VFMLA	V2.S4, V3.S4, V13.S4 // acc[1][2] += gy[1][j:j+4] * b[off[2]+j:][:4]
	VLD1.P	16(R4), [V3.S4]  // V3 = gy[2][j:j+4]
	VFMLA	V0.S4, V3.S4, V14.S4 // acc[2][0] += gy[2][j:j+4] * b[off[0]+j:][:4]
	VFMLA	V1.S4, V3.S4, V15.S4 // acc[2][1] += gy[2][j:j+4] * b[off[1]+j:][:4]
	VFMLA	V2.S4, V3.S4, V16.S4 // acc[2][2] += gy[2][j:j+4] * b[off[2]+j:][:4]
	VLD1.P	16(R5), [V3.S4]  // V3 = gy[3][j:j+4]
	VFMLA	V0.S4, V3.S4, V17.S4 // acc[3][0] += gy[3][j:j+4] * b[off[0]+j:][:4]
	VFMLA	V1.S4, V3.S4, V18.S4 // acc[3][1] += gy[3][j:j+4] * b[off[1]+j:][:4]
	VFMLA	V2.S4, V3.S4, V19.S4 // acc[3][2] += gy[3][j:j+4] * b[off[2]+j:][:4]
	SUBS	$1, R0
	BNE	shiftedgloop

	MOVD	c+40(FP), R11
	MOVD	ldc+48(FP), R12
	LSL	$2, R12                // ldc in bytes
	// c[i][p] += the four lanes of acc[i][p], summed as (l0+l1) + (l2+l3)
	WORD	$0x6e28d514         // FADDP V20.4S, V8.4S, V8.4S: l0+l1, l2+l3 in lanes 0, 1
	WORD	$0x7e30da94         // FADDP S20, V20.2S: (l0+l1) + (l2+l3)
	FMOVS	0(R11), F21
	FADDS	F20, F21, F21
	FMOVS	F21, 0(R11)       // c[0][0] += the sum
	WORD	$0x6e29d534         // FADDP V20.4S, V9.4S, V9.4S: l0+l1, l2+l3 in lanes 0, 1
	WORD	$0x7e30da94         // FADDP S20, V20.2S: (l0+l1) + (l2+l3)
	FMOVS	4(R11), F21
	FADDS	F20, F21, F21
	FMOVS	F21, 4(R11)       // c[0][1] += the sum
	WORD	$0x6e2ad554         // FADDP V20.4S, V10.4S, V10.4S: l0+l1, l2+l3 in lanes 0, 1
	WORD	$0x7e30da94         // FADDP S20, V20.2S: (l0+l1) + (l2+l3)
	FMOVS	8(R11), F21
	FADDS	F20, F21, F21
	FMOVS	F21, 8(R11)       // c[0][2] += the sum
	ADD	R12, R11
	WORD	$0x6e2bd574         // FADDP V20.4S, V11.4S, V11.4S: l0+l1, l2+l3 in lanes 0, 1
	WORD	$0x7e30da94         // FADDP S20, V20.2S: (l0+l1) + (l2+l3)
	FMOVS	0(R11), F21
	FADDS	F20, F21, F21
	FMOVS	F21, 0(R11)       // c[1][0] += the sum
	WORD	$0x6e2cd594         // FADDP V20.4S, V12.4S, V12.4S: l0+l1, l2+l3 in lanes 0, 1
	WORD	$0x7e30da94         // FADDP S20, V20.2S: (l0+l1) + (l2+l3)
	FMOVS	4(R11), F21
	FADDS	F20, F21, F21
	FMOVS	F21, 4(R11)       // c[1][1] += the sum
	WORD	$0x6e2dd5b4         // FADDP V20.4S, V13.4S, V13.4S: l0+l1, l2+l3 in lanes 0, 1
	WORD	$0x7e30da94         // FADDP S20, V20.2S: (l0+l1) + (l2+l3)
	FMOVS	8(R11), F21
	FADDS	F20, F21, F21
	FMOVS	F21, 8(R11)       // c[1][2] += the sum
	ADD	R12, R11
	WORD	$0x6e2ed5d4         // FADDP V20.4S, V14.4S, V14.4S: l0+l1, l2+l3 in lanes 0, 1
	WORD	$0x7e30da94         // FADDP S20, V20.2S: (l0+l1) + (l2+l3)
	FMOVS	0(R11), F21
	FADDS	F20, F21, F21
	FMOVS	F21, 0(R11)       // c[2][0] += the sum
	WORD	$0x6e2fd5f4         // FADDP V20.4S, V15.4S, V15.4S: l0+l1, l2+l3 in lanes 0, 1
	WORD	$0x7e30da94         // FADDP S20, V20.2S: (l0+l1) + (l2+l3)
	FMOVS	4(R11), F21
	FADDS	F20, F21, F21
	FMOVS	F21, 4(R11)       // c[2][1] += the sum
	WORD	$0x6e30d614         // FADDP V20.4S, V16.4S, V16.4S: l0+l1, l2+l3 in lanes 0, 1
	WORD	$0x7e30da94         // FADDP S20, V20.2S: (l0+l1) + (l2+l3)
	FMOVS	8(R11), F21
	FADDS	F20, F21, F21
	FMOVS	F21, 8(R11)       // c[2][2] += the sum
	ADD	R12, R11
	WORD	$0x6e31d634         // FADDP V20.4S, V17.4S, V17.4S: l0+l1, l2+l3 in lanes 0, 1
	WORD	$0x7e30da94         // FADDP S20, V20.2S: (l0+l1) + (l2+l3)
	FMOVS	0(R11), F21
	FADDS	F20, F21, F21
	FMOVS	F21, 0(R11)       // c[3][0] += the sum
	WORD	$0x6e32d654         // FADDP V20.4S, V18.4S, V18.4S: l0+l1, l2+l3 in lanes 0, 1
	WORD	$0x7e30da94         // FADDP S20, V20.2S: (l0+l1) + (l2+l3)
	FMOVS	4(R11), F21
	FADDS	F20, F21, F21
	FMOVS	F21, 4(R11)       // c[3][1] += the sum
	WORD	$0x6e33d674         // FADDP V20.4S, V19.4S, V19.4S: l0+l1, l2+l3 in lanes 0, 1
	WORD	$0x7e30da94         // FADDP S20, V20.2S: (l0+l1) + (l2+l3)
	FMOVS	8(R11), F21
	FADDS	F20, F21, F21
	FMOVS	F21, 8(R11)       // c[3][2] += the sum
	RET
