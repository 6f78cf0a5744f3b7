//! Giving back the pages of code a process will not run again (Linux).
//!
//! Every page of its executable and libraries that a process has touched stays mapped, and
//! counts in its resident memory, although nothing changed it and the kernel can read it again
//! from the file at any time (as it does under memory pressure). A long-lived process whose
//! start-up ran code it will not run again lets go of those pages here: they leave this
//! process's page tables only, stay in the page cache, and a page used again is faulted back
//! in from the file.

use std::ops::Range;

/// Drops this process's resident pages of every private, read-only mapping of a file that
/// holds no page of the process's own (`Anonymous: 0 kB` in `smaps`): code and read-only
/// data. Relocated data made read-only afterwards (RELRO) holds pages of its own and is kept.
/// Best effort: nothing happens where `/proc/self/smaps` cannot be read.
pub(crate) fn release_clean_file_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return };
    for range in clean_file_mappings(&smaps) {
        // SAFETY: the range is a whole mapping of this process, read-only, backed by a file
        // and without a private page: MADV_DONTNEED only drops its page table entries, and
        // every page reads back from the file as it was.
        unsafe {
            libc::madvise(range.start as *mut libc::c_void, range.len(), libc::MADV_DONTNEED)
        };
    }
}

/// The address ranges of the mappings [`release_clean_file_pages`] may drop, from an `smaps`
/// text.
fn clean_file_mappings(smaps: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut candidate = None;
    for line in smaps.lines() {
        if let Some(header) = mapping_header(line) {
            candidate = header;
        } else if let Some(anonymous) = line.strip_prefix("Anonymous:") {
            if let Some(range) = candidate.take() {
                if anonymous.trim() == "0 kB" {
                    out.push(range);
                }
            }
        }
    }
    out
}

/// For the first line of a mapping in `smaps`: `Some(Some(range))` when it is a private,
/// read-only mapping of a file, `Some(None)` for any other mapping; `None` for other lines.
fn mapping_header(line: &str) -> Option<Option<Range<usize>>> {
    let mut fields = line.split_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16))
    else {
        return None;
    };
    let perms = fields.next()?;
    let inode = fields.nth(2)?;
    let path = fields.next().unwrap_or("");
    let read_only_private = matches!(perms, "r--p" | "r-xp");
    Some((read_only_private && inode != "0" && path.starts_with('/')).then_some(start..end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0a000-55d0b000 r--p 00000000 fd:01 1234 /usr/bin/app
Rss:                   4 kB
Anonymous:             0 kB
VmFlags: rd mr mw me dw
55d0b000-55d0f000 r-xp 00001000 fd:01 1234 /usr/bin/app
Size:                 16 kB
Anonymous:             0 kB
55d0f000-55d10000 r--p 00005000 fd:01 1234 /usr/bin/app
Anonymous:             4 kB
55d10000-55d11000 rw-p 00006000 fd:01 1234 /usr/bin/app
Anonymous:             0 kB
7f00000-7f01000 rw-p 00000000 00:00 0 [heap]
Anonymous:             4 kB
7ffd000-7ffe000 r-xp 00000000 00:00 0 [vdso]
Anonymous:             0 kB
";

    #[test]
    fn only_clean_read_only_file_mappings_are_dropped() {
        assert_eq!(
            clean_file_mappings(SMAPS),
            [0x55d0_a000..0x55d0_b000, 0x55d0_b000..0x55d0_f000]
        );
    }

    #[test]
    fn released_code_pages_leave_the_resident_set() {
        let resident = || -> u64 {
            let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
            let mut total = 0;
            let mut code = false;
            for line in smaps.lines() {
                if let Some(header) = mapping_header(line) {
                    code = header.is_some();
                } else if let Some(rss) = line.strip_prefix("Rss:") {
                    if code {
                        total += rss.trim().trim_end_matches(" kB").parse::<u64>().unwrap_or(0);
                    }
                }
            }
            total
        };
        let before = resident();
        release_clean_file_pages();
        let after = resident();
        assert!(before > 0, "the test binary's code is resident");
        assert!(
            after < before,
            "{after} kB of clean file pages resident after, {before} kB before"
        );
    }
}
