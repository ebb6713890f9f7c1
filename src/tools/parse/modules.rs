#![forbid(unsafe_code)]
//! `/proc/modules` (see `proc_modules(5)`): one loaded module per line,
//! `name size refcount used_by state address [(taint letters)]`, e.g.
//! `nf_tables 274432 3 nft_ct,nft_chain_nat, Live 0xffffffffc0a00000 (OE)`.
//! The load address is never kept: it is a kernel pointer (zeroed for unprivileged readers).

/// Most modules kept; a kernel has a few hundred.
pub const MAX_MODULES: usize = 4096;
/// Most names kept in one module's `used_by` list.
pub const MAX_USED_BY: usize = 256;
/// Longest module name the kernel allows (`MODULE_NAME_LEN` - 1).
pub const MAX_NAME: usize = 55;

/// One loaded module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub name: String,
    pub size_bytes: u64,
    /// `None` when the kernel prints `-` (built without module unloading).
    pub refcount: Option<u64>,
    pub used_by: Vec<String>,
    /// `Live`, `Loading` or `Unloading`, lower-cased; anything else is `unknown`.
    pub state: &'static str,
    /// The taint letters of the module (`O`, `E`, `P`, ...), in the kernel's order.
    pub taint: Vec<char>,
}

/// A valid module name: what the kernel accepts (letters, digits, `_` and `-`; `-` is shown as
/// `_` by the kernel, but a hostile file may contain anything, so the rule is checked here).
pub fn is_module_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn parse_line(line: &str) -> Option<Module> {
    let mut it = line.split_ascii_whitespace();
    let name = it.next().filter(|n| is_module_name(n))?;
    let size_bytes = it.next()?.parse().ok()?;
    let refcount = match it.next()? {
        "-" => None,
        n => Some(n.parse().ok()?),
    };
    let used = it.next()?;
    let mut used_by: Vec<String> = Vec::new();
    if used != "-" {
        for u in used.split(',').filter(|u| !u.is_empty()) {
            // `[permanent]` and `[unsafe]` mark modules that cannot be unloaded; not users.
            if u.starts_with('[') {
                continue;
            }
            if !is_module_name(u) {
                return None;
            }
            if used_by.len() < MAX_USED_BY {
                used_by.push(u.to_string());
            }
        }
    }
    let state = match it.next()? {
        "Live" => "live",
        "Loading" => "loading",
        "Unloading" => "unloading",
        _ => "unknown",
    };
    // The address, then the optional taint letters in parentheses.
    let _address = it.next();
    let taint = match it.next() {
        Some(t) => {
            let inner = t.strip_prefix('(')?.strip_suffix(')')?;
            if !inner.chars().all(|c| c.is_ascii_uppercase()) {
                return None;
            }
            inner.chars().collect()
        }
        None => Vec::new(),
    };
    Some(Module {
        name: name.to_string(),
        size_bytes,
        refcount,
        used_by,
        state,
        taint,
    })
}

/// The modules of a `/proc/modules` text, and how many lines were not understood. At most
/// [`MAX_MODULES`] are kept; the bool says more were there.
pub fn parse_modules(text: &str) -> (Vec<Module>, usize, bool) {
    let mut out = Vec::new();
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match parse_line(line) {
            Some(m) if out.len() < MAX_MODULES => out.push(m),
            Some(_) => return (out, bad, true),
            None => bad += 1,
        }
    }
    (out, bad, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = "nf_tables 274432 3 nft_ct,nft_chain_nat, Live 0xffffffffc0a00000\n\
        nvidia 56418304 125 nvidia_modeset,nvidia_uvm, Live 0x0000000000000000 (POE)\n\
        ext4 1003520 2 - Live 0xffffffffc0800000\n\
        crc32c_intel 24576 - - Loading 0x0000000000000000\n\
        vboxdrv 557056 0 [permanent], Unloading 0x0 (OE)\n";

    #[test]
    fn parses_every_field() {
        let (m, bad, more) = parse_modules(FIXTURE);
        assert_eq!((m.len(), bad, more), (5, 0, false));
        assert_eq!(m[0].name, "nf_tables");
        assert_eq!(m[0].size_bytes, 274_432);
        assert_eq!(m[0].refcount, Some(3));
        assert_eq!(m[0].used_by, ["nft_ct", "nft_chain_nat"]);
        assert_eq!(m[0].state, "live");
        assert!(m[0].taint.is_empty());
        assert_eq!(m[1].taint, ['P', 'O', 'E']);
        assert!(m[2].used_by.is_empty());
        assert_eq!((m[3].refcount, m[3].state), (None, "loading"));
        assert!(m[4].used_by.is_empty());
        assert_eq!(m[4].state, "unloading");
    }

    #[test]
    fn hostile_lines_are_counted_not_guessed() {
        let text = "evil$(id) 1 0 - Live 0x0\n\
            short 1\n\
            neg -5 0 - Live 0x0\n\
            users 1 0 a,b;c, Live 0x0\n\
            taint 1 0 - Live 0x0 (o<e)\n\
            ok 1 0 - Weird 0x0\n\n";
        let (m, bad, _) = parse_modules(text);
        assert_eq!(bad, 5);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].state, "unknown");
        let long = format!("{} 1 0 - Live 0x0\n", "a".repeat(MAX_NAME + 1));
        assert_eq!(parse_modules(&long).1, 1);
        assert_eq!(parse_modules(""), (Vec::new(), 0, false));
    }

    #[test]
    fn caps() {
        let text = "m 1 0 - Live 0x0\n".repeat(MAX_MODULES + 1);
        let (m, _, more) = parse_modules(&text);
        assert_eq!(m.len(), MAX_MODULES);
        assert!(more);
        let users: String = (0..MAX_USED_BY + 10).map(|i| format!("u{i},")).collect();
        let (m, _, _) = parse_modules(&format!("m 1 0 {users} Live 0x0\n"));
        assert_eq!(m[0].used_by.len(), MAX_USED_BY);
    }
}
