// Package lazytail is run by TestLazyTail in a guest smaller than its image.
package lazytail

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"os"
	"testing"
)

func TestFilesAndHeap(t *testing.T) {
	f, err := os.Open("testdata/lines.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	n := 0
	for ; s.Scan(); n++ {
		if want := fmt.Sprintf("line %05d of the boot module", n); s.Text() != want {
			t.Fatalf("line %d = %q, want %q", n, s.Text(), want)
		}
	}
	if err := s.Err(); err != nil || n != 4000 {
		t.Fatalf("read %d lines, error %v; want 4000", n, err)
	}

	// 8 MiB of heap, more than the RAM below the image: it must come from under the tail.
	blocks := make([][]byte, 8)
	for i := range blocks {
		blocks[i] = make([]byte, 1<<20)
		rand.Read(blocks[i][:64])
		blocks[i][1<<20-1] = byte(i)
	}
	for i, b := range blocks {
		if b[1<<20-1] != byte(i) {
			t.Fatalf("block %d lost its last byte", i)
		}
	}
}
