#![forbid(unsafe_code)]
//! Small kernel state files: `/proc/sys/kernel/tainted` (a bit mask, decoded as in the kernel's
//! `Documentation/admin-guide/tainted-kernels.rst`) and `/proc/sys/fs/file-nr`.

/// The taint bits the kernel documents: (bit, letter, meaning). Bit 0 prints as `G` when clear;
/// only set bits are reported here.
pub const TAINT_FLAGS: &[(u32, char, &str)] = &[
    (0, 'P', "proprietary module was loaded"),
    (1, 'F', "module was force loaded"),
    (2, 'S', "kernel running on an out of specification system"),
    (3, 'R', "module was force unloaded"),
    (4, 'M', "processor reported a machine check exception"),
    (5, 'B', "bad page referenced or unexpected page flags"),
    (6, 'U', "taint requested by userspace"),
    (7, 'D', "kernel died recently (OOPS or BUG)"),
    (8, 'A', "ACPI table overridden by user"),
    (9, 'W', "kernel issued a warning"),
    (10, 'C', "staging driver was loaded"),
    (11, 'I', "workaround for a platform firmware bug applied"),
    (12, 'O', "externally-built (out-of-tree) module was loaded"),
    (13, 'E', "unsigned module was loaded"),
    (14, 'L', "soft lockup occurred"),
    (15, 'K', "kernel has been live patched"),
    (16, 'X', "auxiliary taint (defined by distributions)"),
    (17, 'T', "kernel built with the struct randomization plugin"),
    (18, 'N', "an in-kernel test has been run"),
    (
        19,
        'J',
        "userspace used a mutating debug operation in fwctl",
    ),
];

/// One decoded taint bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taint {
    pub bit: u32,
    /// The kernel's letter, or `None` for a bit this table does not know.
    pub letter: Option<char>,
    pub name: &'static str,
}

/// The value of `/proc/sys/kernel/tainted` (a decimal number).
pub fn parse_tainted(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// The set bits of a taint mask, lowest first.
pub fn decode_taint(mask: u64) -> Vec<Taint> {
    (0..64)
        .filter(|bit| mask & (1u64 << bit) != 0)
        .map(|bit| match TAINT_FLAGS.iter().find(|(b, _, _)| *b == bit) {
            Some((_, letter, name)) => Taint {
                bit,
                letter: Some(*letter),
                name,
            },
            None => Taint {
                bit,
                letter: None,
                name: "bit not known to this build",
            },
        })
        .collect()
}

/// The meaning of a taint letter as `/proc/modules` prints it per module (`(OE)`).
pub fn taint_letter_name(letter: char) -> Option<&'static str> {
    TAINT_FLAGS
        .iter()
        .find(|(_, l, _)| *l == letter)
        .map(|(_, _, name)| *name)
}

/// `/proc/sys/fs/file-nr`: allocated file handles, allocated but unused (always 0 since 2.6),
/// and the maximum (`fs.file-max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileNr {
    pub allocated: u64,
    pub unused: u64,
    pub max: u64,
}

pub fn parse_file_nr(text: &str) -> Option<FileNr> {
    let mut it = text.split_ascii_whitespace().map(|f| f.parse::<u64>().ok());
    let n = FileNr {
        allocated: it.next()??,
        unused: it.next()??,
        max: it.next()??,
    };
    it.next().is_none().then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taint_masks_decode_to_letters() {
        assert!(decode_taint(0).is_empty());
        assert_eq!(parse_tainted("0\n"), Some(0));
        // 12288 = O (bit 12) + E (bit 13): an out-of-tree, unsigned module.
        let t = decode_taint(parse_tainted("12288\n").unwrap());
        let letters: Vec<Option<char>> = t.iter().map(|t| t.letter).collect();
        assert_eq!(letters, [Some('O'), Some('E')]);
        assert_eq!(t[0].bit, 12);
        let t = decode_taint(1 | (1 << 9) | (1 << 40));
        assert_eq!(t[0].letter, Some('P'));
        assert_eq!(t[1].letter, Some('W'));
        assert_eq!((t[2].bit, t[2].letter), (40, None));
        assert_eq!(parse_tainted("-1"), None);
        assert_eq!(parse_tainted("x"), None);
        assert_eq!(taint_letter_name('O'), Some(TAINT_FLAGS[12].2));
        assert_eq!(taint_letter_name('Z'), None);
        // The table is in bit order with distinct letters.
        for (i, (bit, l, _)) in TAINT_FLAGS.iter().enumerate() {
            assert_eq!(*bit as usize, i);
            assert_eq!(TAINT_FLAGS.iter().filter(|(_, m, _)| m == l).count(), 1);
        }
    }

    #[test]
    fn file_nr() {
        assert_eq!(
            parse_file_nr("1184\t0\t9223372036854775807\n"),
            Some(FileNr {
                allocated: 1184,
                unused: 0,
                max: 9_223_372_036_854_775_807
            })
        );
        for bad in ["", "1 2", "1 2 3 4", "a 0 1", "-1 0 1"] {
            assert_eq!(parse_file_nr(bad), None, "{bad:?}");
        }
    }
}
