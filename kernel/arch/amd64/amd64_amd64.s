#include "textflag.h"

TEXT ·Outb(SB),NOSPLIT,$0-3
	MOVW	port+0(FP), DX
	MOVB	v+2(FP), AL
	OUTB
	RET

TEXT ·Inb(SB),NOSPLIT,$0-9
	MOVW	port+0(FP), DX
	INB
	MOVB	AL, ret+8(FP)
	RET

TEXT ·Outl(SB),NOSPLIT,$0-8
	MOVW	port+0(FP), DX
	MOVL	v+4(FP), AX
	OUTL
	RET

TEXT ·Inl(SB),NOSPLIT,$0-12
	MOVW	port+0(FP), DX
	INL
	MOVL	AX, ret+8(FP)
	RET

TEXT ·Rdmsr(SB),NOSPLIT,$0-16
	MOVL	msr+0(FP), CX
	RDMSR
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, ret+8(FP)
	RET

TEXT ·Wrmsr(SB),NOSPLIT,$0-16
	MOVL	msr+0(FP), CX
	MOVQ	v+8(FP), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	WRMSR
	RET

TEXT ·Rdtsc(SB),NOSPLIT,$0-8
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·Cpuid(SB),NOSPLIT,$0-24
	MOVL	leaf+0(FP), AX
	MOVL	subleaf+4(FP), CX
	CPUID
	MOVL	AX, eax+8(FP)
	MOVL	BX, ebx+12(FP)
	MOVL	CX, ecx+16(FP)
	MOVL	DX, edx+20(FP)
	RET

TEXT ·ReadCR2(SB),NOSPLIT,$0-8
	MOVQ	CR2, AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·ReadCR3(SB),NOSPLIT,$0-8
	MOVQ	CR3, AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·WriteCR3(SB),NOSPLIT,$0-8
	MOVQ	v+0(FP), AX
	MOVQ	AX, CR3
	RET

TEXT ·ReadCR4(SB),NOSPLIT,$0-8
	MOVQ	CR4, AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·WriteCR4(SB),NOSPLIT,$0-8
	MOVQ	v+0(FP), AX
	MOVQ	AX, CR4
	RET

TEXT ·Invlpg(SB),NOSPLIT,$0-8
	MOVQ	addr+0(FP), AX
	INVLPG	(AX)
	RET

// Lgdt loads a new GDT. CS keeps its selector, which must name an
// equivalent descriptor in the new table.
TEXT ·Lgdt(SB),NOSPLIT,$0-12
	MOVQ	desc+0(FP), AX
	LGDT	(AX)
	MOVWQZX	ds+10(FP), AX
	MOVW	AX, DS
	MOVW	AX, ES
	MOVW	AX, SS
	RET

TEXT ·Lidt(SB),NOSPLIT,$0-8
	MOVQ	desc+0(FP), AX
	LIDT	(AX)
	RET

TEXT ·Ltr(SB),NOSPLIT,$0-2
	MOVW	sel+0(FP), AX
	LTR	AX
	RET

TEXT ·StiHlt(SB),NOSPLIT,$0-0
	STI
	HLT
	CLI
	RET

TEXT ·Pause(SB),NOSPLIT,$0-0
	PAUSE
	RET

TEXT ·Halt(SB),NOSPLIT,$0-0
	CLI
halt:
	HLT
	JMP	halt

TEXT ·Rdrand(SB),NOSPLIT,$0-9
	MOVL	$10, CX
retry:
	BYTE	$0x48; BYTE $0x0f; BYTE $0xc7; BYTE $0xf0 // RDRAND AX
	JCS	done
	DECL	CX
	JNE	retry
	MOVQ	$0, v+0(FP)
	MOVB	$0, ok+8(FP)
	RET
done:
	MOVQ	AX, v+0(FP)
	MOVB	$1, ok+8(FP)
	RET
