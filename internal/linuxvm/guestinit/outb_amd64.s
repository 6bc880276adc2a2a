#include "textflag.h"

// func outb(port uint16, val byte)
// DX: the port, AL: the value (the only registers OUT takes).
TEXT ·outb(SB), NOSPLIT, $0-3
	MOVW port+0(FP), DX
	MOVB val+2(FP), AL
	OUTB
	RET
