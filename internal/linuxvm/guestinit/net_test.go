package main

import (
	"encoding/hex"
	"testing"
)

func TestRouteMessage(t *testing.T) {
	got := hex.EncodeToString(routeMessage([4]byte{10, 0, 2, 2}, 2))
	// nlmsghdr{len 44, RTM_NEWROUTE, REQUEST|ACK|EXCL|CREATE, seq 1, pid 0}
	// rtmsg{AF_INET, dst_len 0, src_len 0, tos 0, main, boot, universe, unicast, flags 0}
	// rtattr{8, RTA_GATEWAY} 10.0.2.2, rtattr{8, RTA_OIF} 2
	want := "2c000000180005060100000000000000" +
		"02000000fe030001" + "00000000" +
		"0800050" + "00a000202" + "08000400" + "02000000"
	if got != want {
		t.Errorf("routeMessage =\n%s\nwant\n%s", got, want)
	}
}

func TestAckError(t *testing.T) {
	ack := []byte{36, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xef, 0xff, 0xff, 0xff}
	if err := ackError(ack); err == nil || err.Error() != "file exists" {
		t.Errorf("ackError(-EEXIST) = %v, want file exists", err)
	}
	ack[16], ack[17], ack[18], ack[19] = 0, 0, 0, 0
	if err := ackError(ack); err != nil {
		t.Errorf("ackError(0) = %v", err)
	}
	if err := ackError(ack[:10]); err == nil {
		t.Error("ackError(short) succeeded")
	}
}

func TestStatusFor(t *testing.T) {
	for in, want := range map[int]int{0: 0, 1: 1, 125: 125, 126: StatusUnknown, 127: StatusUnknown, 255: StatusUnknown, -1: StatusUnknown} {
		if got := StatusFor(in); got != want {
			t.Errorf("StatusFor(%d) = %d, want %d", in, got, want)
		}
	}
}
