#include "textflag.h"

// vdsoClockGettime is the vDSO's __vdso_clock_gettime (see vdso.go). It runs
// in user mode with the C calling convention: DI the clock, SI the timespec;
// it returns 0 in AX. It computes what the kernel's nanotime and walltime
// compute, from the same variables, which the app can read: the image is
// mapped for user mode. Clocks the kernel does not answer this way go to the
// system call, which says EINVAL.
TEXT ·vdsoClockGettime(SB),NOSPLIT|NOFRAME,$0
	CMPQ	DI, $7 // CLOCK_BOOTTIME, the highest clock answered here
	JHI	syscall
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	SUBQ	·tsc0(SB), AX
	MULQ	·nsPerTSCMult(SB)
	SHRQ	$32, DX, AX // AX = (DX:AX) >> 32: nanoseconds since boot
	CMPQ	DI, $0 // CLOCK_REALTIME
	JEQ	wall
	CMPQ	DI, $5 // CLOCK_REALTIME_COARSE
	JNE	split
wall:
	ADDQ	·wallAtBoot(SB), AX
split:
	XORL	DX, DX
	MOVQ	$1000000000, CX
	DIVQ	CX
	MOVQ	AX, 0(SI)
	MOVQ	DX, 8(SI)
	XORL	AX, AX
	RET
syscall:
	MOVL	$228, AX // clock_gettime
	SYSCALL
	RET

// vdsoClockGettimeAddr returns the address of vdsoClockGettime.
TEXT ·vdsoClockGettimeAddr(SB),NOSPLIT,$0-8
	LEAQ	·vdsoClockGettime(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
