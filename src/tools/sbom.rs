#![forbid(unsafe_code)]
//! Scope `sbom`: the installed packages of this host, as a list and as a CycloneDX 1.5 SBOM.
//! This file holds the tool table and the argument handling both tools share; the database
//! reading is in `read`, purls in `purl`, each handler in its own file with its schemas.

use std::path::Path;

use serde_json::{Map, Value};

use super::{Annotations, Ctx, Impact, ToolDef, invalid};
use crate::error::ToolError;
use crate::scope::Scope;

mod cyclonedx;
mod packages;
pub mod purl;
pub mod read;

use read::Manager;

pub use cyclonedx::document;
pub use packages::listing;

pub static TOOLS: &[ToolDef] = &[
    ToolDef {
        // Medium: a large status file is read in a few milliseconds, but rpm (once it is run
        // through exec) takes up to a second or two on a big host.
        name: "get_packages",
        title: "Installed packages",
        description: "Installed packages from the host's package database: dpkg (/var/lib/dpkg/status) and Alpine apk (/lib/apk/db/installed) are read natively; an rpm database is detected but not read in this build (reading it needs the rpm program, which this build does not run yet). Without `manager`, the first database present is read, in the order dpkg, apk, rpm; `databases` says which exist. Each package has its name, version, architecture, source package, installed size, maintainer and one-line summary where the database records them. Only packages in dpkg's `installed` state are listed (held ones and ones marked for removal included); records in other states (config-files, half-installed, unpacked, half-configured, triggers-pending, ...) are counted in `other_states`, and records that cannot be read are counted in `problem_count`, with the first 20 in `problems`. `filter` keeps names containing it (ASCII case-insensitive). Pages: `limit` packages from `offset`, sorted by name, architecture and version; `more_not_listed` says whether packages follow (the next page starts at `offset` + `returned`).",
        scope: Scope::Sbom,
        impact: Impact::Medium,
        annotations: Annotations::READ_LOCAL,
        input_schema: packages::INPUT,
        output_schema: packages::OUTPUT,
        handler: packages::handler,
    },
    ToolDef {
        name: "get_sbom",
        title: "Software bill of materials",
        description: "A CycloneDX 1.5 JSON SBOM (in `bom`) of the packages get_packages lists: one component per installed package (type library, name, version, a purl such as pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=debian-12 built from /etc/os-release, and the purl as bom-ref), a random urn:uuid serial number, and metadata naming this host's operating system and sysgate. A document holds at most `limit` (1000) components from `offset`: `complete` is true only when it lists every installed package and no database record was unreadable or partly installed; otherwise `incomplete_reasons` says why, the document's `compositions` aggregate is `incomplete`, and the next page starts at `offset` + `listed`. If the result carries `truncated`, the server's output limits cut it and the document is incomplete whatever `complete` says: ask for a smaller `limit`.",
        scope: Scope::Sbom,
        impact: Impact::Medium,
        annotations: Annotations::READ_LOCAL,
        input_schema: cyclonedx::INPUT,
        output_schema: cyclonedx::OUTPUT,
        handler: cyclonedx::handler,
    },
];

/// Where the tools look for databases and os-release.
const ROOT: &str = "/";

/// Most packages per page, and the default: the output caps' default item limit, so a page is
/// never cut by the caps at their defaults.
pub const MAX_LIMIT: u64 = 1000;
/// Largest `offset` accepted.
pub const MAX_OFFSET: u64 = 1_000_000;

/// The arguments both tools share. The schema has checked them; this turns them into types and
/// still refuses anything odd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub manager: Option<Manager>,
    pub filter: String,
    pub offset: usize,
    pub limit: usize,
}

impl Query {
    pub fn from_args(args: &Map<String, Value>) -> Result<Query, ToolError> {
        let manager = match args.get("manager") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .and_then(Manager::from_name)
                    .ok_or_else(|| invalid("manager", "must be one of dpkg, apk, rpm"))?,
            ),
        };
        let int = |name: &str, min: u64, max: u64, default: u64| match args.get(name) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| invalid(name, &format!("must be an integer from {min} to {max}"))),
        };
        let offset = int("offset", 0, MAX_OFFSET, 0)? as usize;
        let limit = int("limit", 1, MAX_LIMIT, MAX_LIMIT)? as usize;
        let filter = match args.get("filter") {
            None => String::new(),
            Some(v) => {
                let s = v
                    .as_str()
                    .ok_or_else(|| invalid("filter", "must be a string"))?;
                if !is_filter(s) {
                    return Err(invalid(
                        "filter",
                        "must be 1 to 128 characters of A-Z a-z 0-9 . _ + ~ ^ -, not starting with -",
                    ));
                }
                s.to_owned()
            }
        };
        Ok(Query {
            manager,
            filter,
            offset,
            limit,
        })
    }
}

/// The `filter` rule of the input schema, checked again here.
pub fn is_filter(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0] != b'-'
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._+~^-".contains(c))
}

/// What a handler needs from the call: its cancellation check and the cut of host text.
pub struct Env<'a> {
    pub check: &'a dyn Fn() -> Result<(), ToolError>,
    /// Cut host text to at most `max` characters without splitting a secret.
    pub cut: &'a dyn Fn(&str, usize) -> String,
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

fn with_env<T>(ctx: &Ctx<'_>, f: impl FnOnce(&Env<'_>) -> T) -> T {
    let check = || ctx.check();
    let cut = |s: &str, max: usize| ctx.redactor.cut(s, max).0;
    f(&Env {
        check: &check,
        cut: &cut,
    })
}

fn root() -> &'static Path {
    Path::new(ROOT)
}

/// What the sbom tools' tests share: the fixture trees, a call environment, the schema check.
#[cfg(test)]
mod test_support {
    use std::path::{Path, PathBuf};

    use serde_json::Value;

    use super::Env;
    use crate::tools::Registry;

    /// A tree under `tests/fixtures/sbom`.
    pub fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sbom")
            .join(name)
    }

    /// `f` with an environment that never cancels and cuts text by characters.
    pub fn with_test_env<T>(f: impl FnOnce(&Env<'_>) -> T) -> T {
        let check = || Ok(());
        let cut = |s: &str, max: usize| s.chars().take(max).collect();
        f(&Env {
            check: &check,
            cut: &cut,
        })
    }

    /// Panics when `v` breaks the output schema of `tool`.
    pub fn assert_output_schema(tool: &str, v: &Value) {
        let r = Registry::new().unwrap();
        if let Err(e) = r.get(tool).unwrap().compiled().unwrap().output.validate(v) {
            panic!("breaks the output schema at {}: {}", e.path, e.rule);
        }
    }
}
