package kernel

import (
	"unsafe"

	"mote.dev/mote/kernel/abi/linux"
)

// The page cache, for pagers of files whose contents live elsewhere (a 9p
// volume): the frames that mappings of such files show, keyed by pager
// kind, file and page. It does no I/O: the pager fills new pages (in
// prepare) and writes dirty ones back (in sync), and keeps them coherent
// with the file's other I/O through this kernel:
//
//   - pwrite copies into the cached pages too (cacheWrite);
//   - read lays the cached pages over what the host returned (cacheOverlay),
//     since a mapping may have stored there since the last write-back;
//   - truncation drops the pages past the end (cacheTruncate), taking them
//     out of every mapping first;
//   - the last mapping gone and the pages written back, cacheDrop frees
//     the rest.
//
// An open-addressed hash table with linear probing, in a fixed array: the
// trap path cannot allocate. Removal shifts the entries after a hole back,
// so there are no tombstones.

const (
	cacheSlots    = 1 << 14
	cacheMaxPages = cacheSlots / 4 * 3 // 48 MiB of pages at most: probes stay short
)

type cachedPage struct {
	used  bool
	dirty bool
	kind  uint8
	id    int32
	pg    int64
	frame uintptr // kernel address
}

var (
	pcache  [cacheSlots]cachedPage
	pcacheN int
)

func cacheHash(kind uint8, id int32, pg int64) int {
	h := uint64(pg)*0x9e3779b97f4a7c15 ^ uint64(uint32(id))*0xc2b2ae3d27d4eb4f ^ uint64(kind)
	return int(h>>40) & (cacheSlots - 1)
}

// cacheSlot returns the index of the page's entry, or -1.
func cacheSlot(kind uint8, id int32, pg int64) int {
	for i := cacheHash(kind, id, pg); pcache[i].used; i = (i + 1) & (cacheSlots - 1) {
		if c := &pcache[i]; c.pg == pg && c.id == id && c.kind == kind {
			return i
		}
	}
	return -1
}

// cacheFind returns the frame caching page pg of the file, 0 if none.
func cacheFind(kind uint8, id int32, pg int64) uintptr {
	if i := cacheSlot(kind, id, pg); i >= 0 {
		return pcache[i].frame
	}
	return 0
}

// cacheAdd returns the frame caching page pg of the file, a new zeroed one
// if it had none: ENOSPC when the cache is full, ENOMEM when memory is.
func cacheAdd(kind uint8, id int32, pg int64) (uintptr, linux.Errno) {
	if f := cacheFind(kind, id, pg); f != 0 {
		return f, 0
	}
	if pcacheN >= cacheMaxPages {
		return 0, linux.ENOSPC
	}
	f := allocFrame()
	if f == 0 {
		return 0, linux.ENOMEM
	}
	clearPage(f)
	i := cacheHash(kind, id, pg)
	for pcache[i].used {
		i = (i + 1) & (cacheSlots - 1)
	}
	pcache[i] = cachedPage{used: true, kind: kind, id: id, pg: pg, frame: f}
	pcacheN++
	return f, 0
}

// cacheSetDirty marks a cached page as stored into (dirty true) or
// written back (false).
func cacheSetDirty(kind uint8, id int32, pg int64, dirty bool) {
	if i := cacheSlot(kind, id, pg); i >= 0 {
		pcache[i].dirty = dirty
	}
}

// cacheNextDirty returns the lowest dirty page of the file at or after
// from, and its frame.
func cacheNextDirty(kind uint8, id int32, from int64) (int64, uintptr, bool) {
	best := -1
	for i := range pcache {
		c := &pcache[i]
		if c.used && c.dirty && c.id == id && c.kind == kind && c.pg >= from && (best < 0 || c.pg < pcache[best].pg) {
			best = i
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	return pcache[best].pg, pcache[best].frame, true
}

// cacheRemove frees entry i and closes the hole it leaves in its probe
// sequence.
func cacheRemove(i int) {
	freeFrame(pcache[i].frame)
	pcache[i] = cachedPage{}
	pcacheN--
	for j := (i + 1) & (cacheSlots - 1); pcache[j].used; j = (j + 1) & (cacheSlots - 1) {
		h := cacheHash(pcache[j].kind, pcache[j].id, pcache[j].pg)
		// Entry j may move into the hole unless its home lies after the
		// hole, cyclically, up to j.
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			pcache[i], pcache[j] = pcache[j], cachedPage{}
			i = j
		}
	}
}

// cacheWrite copies b, written to the file at off, into the pages of it
// the cache holds, so that mappings see a pwrite at once.
func cacheWrite(kind uint8, id int32, off int64, b []byte) {
	cacheCopy(kind, id, off, b, true)
}

// cacheOverlay copies the cached pages of the file over b, which was read
// from the file at off: their contents are the newest.
func cacheOverlay(kind uint8, id int32, off int64, b []byte) {
	cacheCopy(kind, id, off, b, false)
}

func cacheCopy(kind uint8, id int32, off int64, b []byte, toCache bool) {
	if pcacheN == 0 {
		return
	}
	for done := 0; done < len(b); {
		pos := off + int64(done)
		in := int(pos % pageSize)
		k := min(pageSize-in, len(b)-done)
		if f := cacheFind(kind, id, pos/pageSize); f != 0 {
			page := unsafe.Slice((*byte)(unsafe.Pointer(f+uintptr(in))), k)
			if toCache {
				copy(page, b[done:done+k])
			} else {
				copy(b[done:done+k], page)
			}
		}
		done += k
	}
}

// cacheTruncate drops the cached pages of the file past a new size, out of
// every mapping first, and zeroes the part of the last page past it.
func cacheTruncate(kind uint8, id int32, size int64) {
	keep := (size + pageSize - 1) / pageSize
	unmapFilePages(kind, id, keep)
	for i := 0; i < cacheSlots; {
		if c := &pcache[i]; c.used && c.id == id && c.kind == kind && c.pg >= keep {
			cacheRemove(i) // may move another entry into i: look again
			continue
		}
		i++
	}
	if f := cacheFind(kind, id, size/pageSize); f != 0 && size%pageSize != 0 {
		tail := unsafe.Slice((*byte)(unsafe.Pointer(f)), pageSize)[size%pageSize:]
		for i := range tail {
			tail[i] = 0
		}
	}
}

// cacheDrop frees every cached page of the file, dirty or not.
func cacheDrop(kind uint8, id int32) { cacheTruncate(kind, id, 0) }
