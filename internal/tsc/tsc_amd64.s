#include "textflag.h"

// func rdtsc() uint64
// RDTSC leaves the counter in EDX:EAX. LFENCE before it keeps earlier loads (the clock read
// that pairs with it) from moving past it.
TEXT ·rdtsc(SB), NOSPLIT, $0-8
	LFENCE
	RDTSC
	SHLQ $32, DX
	ORQ  DX, AX
	MOVQ AX, ret+0(FP)
	RET
