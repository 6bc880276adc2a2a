package kernel

import (
	"math/rand"
	"testing"
	"unsafe"
)

// hostFrames makes allocFrame hand out pages of a host buffer, so that
// code which only needs frames (not page tables) runs on the host.
func hostFrames(t *testing.T, pages int) {
	t.Helper()
	buf := make([]byte, (pages+1)*pageSize)
	start := (uintptr(unsafe.Pointer(&buf[0])) + pageSize - 1) &^ (pageSize - 1)
	ramRanges[0] = physRange{start: start, end: start + uintptr(pages)*pageSize}
	nramRanges, bumpRange, bumpNext, freeList = 1, 0, 0, 0
	freeFrames, usedFrames = uintptr(pages), 0
	imageLo, imageHi, loadedHi = 0, 0, 0
	t.Cleanup(func() {
		_ = buf[0] // the frames live in buf until the test ends
		nramRanges = 0
	})
}

func resetCache() {
	pcache, pcacheN = [cacheSlots]cachedPage{}, 0
	mapObjs, nMapObjs = [maxMapObjs]mapObj{}, 0
}

// TestPageCacheModel runs random adds, truncations and drops against a Go
// map: every page must stay findable through the backward shifts of
// removal, with its contents.
func TestPageCacheModel(t *testing.T) {
	hostFrames(t, 4096)
	resetCache()
	type key struct {
		id int32
		pg int64
	}
	model := map[key]byte{}
	rng := rand.New(rand.NewSource(1))
	for step := 0; step < 20000; step++ {
		id := int32(rng.Intn(3))
		switch r := rng.Intn(100); {
		case r < 85:
			pg := int64(rng.Intn(1500))
			f, e := cacheAdd(pagerMem, id, pg)
			if e != 0 {
				t.Fatalf("step %d: cacheAdd: errno %d with %d pages", step, e, pcacheN)
			}
			if _, ok := model[key{id, pg}]; !ok {
				v := byte(rng.Intn(255) + 1)
				*(*byte)(unsafe.Pointer(f)) = v
				model[key{id, pg}] = v
			}
		case r < 99:
			size := int64(rng.Intn(1500)) * pageSize
			cacheTruncate(pagerMem, id, size)
			for k := range model {
				if k.id == id && k.pg*pageSize >= size {
					delete(model, k)
				}
			}
		default:
			cacheDrop(pagerMem, id)
			for k := range model {
				if k.id == id {
					delete(model, k)
				}
			}
		}
	}
	if pcacheN != len(model) {
		t.Fatalf("cache holds %d pages, model %d", pcacheN, len(model))
	}
	for k, v := range model {
		f := cacheFind(pagerMem, k.id, k.pg)
		if f == 0 || *(*byte)(unsafe.Pointer(f)) != v {
			t.Fatalf("page %+v: frame %#x", k, f)
		}
	}
	if int(usedFrames) != len(model) {
		t.Errorf("%d frames in use for %d pages", usedFrames, len(model))
	}
}

// TestPageCacheCoherence checks what pwrite, read and truncation do to
// cached pages, and the dirty list.
func TestPageCacheCoherence(t *testing.T) {
	hostFrames(t, 16)
	resetCache()
	page := func(pg int64) []byte {
		f := cacheFind(pagerMem, 7, pg)
		if f == 0 {
			t.Fatalf("page %d not cached", pg)
		}
		return unsafe.Slice((*byte)(unsafe.Pointer(f)), pageSize)
	}
	cacheAdd(pagerMem, 7, 1)
	cacheAdd(pagerMem, 7, 2)
	cacheWrite(pagerMem, 7, pageSize-2, []byte("abcdef")) // page 0 is not cached: skipped
	if got := string(page(1)[:4]); got != "cdef" {
		t.Errorf("page 1 after pwrite: %q", got)
	}
	buf := []byte("xxxxxxxxxx")
	page(2)[0] = 'M' // a store through a mapping
	cacheOverlay(pagerMem, 7, 2*pageSize-5, buf)
	// Both pages are cached, so every byte comes from them.
	if string(buf) != "\x00\x00\x00\x00\x00M\x00\x00\x00\x00" {
		t.Errorf("read overlaid: %q", buf)
	}

	cacheSetDirty(pagerMem, 7, 2, true)
	cacheSetDirty(pagerMem, 7, 1, true)
	if pg, _, ok := cacheNextDirty(pagerMem, 7, 0); !ok || pg != 1 {
		t.Errorf("first dirty page %d %v, want 1", pg, ok)
	}
	cacheSetDirty(pagerMem, 7, 1, false)
	if pg, _, ok := cacheNextDirty(pagerMem, 7, 0); !ok || pg != 2 {
		t.Errorf("dirty page after cleaning 1: %d %v, want 2", pg, ok)
	}
	if _, _, ok := cacheNextDirty(pagerMem, 7, 3); ok {
		t.Error("a dirty page past 3")
	}

	cacheTruncate(pagerMem, 7, pageSize+2)
	if cacheFind(pagerMem, 7, 2) != 0 {
		t.Error("page 2 survived truncation")
	}
	if got := page(1)[:4]; string(got) != "cd\x00\x00" {
		t.Errorf("the last page's tail after truncation: %q", got)
	}
	cacheDrop(pagerMem, 7)
	if pcacheN != 0 || usedFrames != 0 {
		t.Errorf("after drop: %d pages, %d frames", pcacheN, usedFrames)
	}
}
