//! Software prefetch: a hint to pull a cache line in before it is read.
//!
//! Packet bytes come from the page cache (a mapped file) or a capture ring, i.e. from main
//! memory: the first read of each frame's headers stalls for a memory round trip (about
//! 100 ns), which on 700-byte frames costs more than decoding them. Where the next
//! frames' addresses are known (a worker's batch, the record after this one), asking for
//! them early overlaps those round trips with useful work.

/// Hints that the cache line holding `p` will be read soon. Never faults, whatever `p`
/// points to (an unmapped address is simply not fetched).
#[inline(always)]
pub fn read(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86_64 baseline, and PREFETCHT0 is a hint that neither
    // dereferences nor faults on any address, valid or not.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Hints that the first `len` bytes at `p` (up to 128: the headers of a frame) will be
/// read soon.
#[inline(always)]
pub fn headers(p: *const u8, len: usize) {
    read(p);
    if len > 64 {
        read(p.wrapping_add(64));
    }
}
