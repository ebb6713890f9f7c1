#![forbid(unsafe_code)]
//! `get_kernel_modules`: `/proc/modules`.

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Budget, Unread, read_file};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::kernel::taint_letter_name;
use crate::tools::parse::modules::{Module, parse_modules};

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["modules", "count", "more_not_listed"],
    "properties": {
        "modules": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["name", "size_bytes", "used_by", "state"],
            "properties": {
                "name": {"type": "string"},
                "size_bytes": {"type": "integer", "minimum": 0},
                "refcount": {"type": "integer", "minimum": 0, "description": "absent when the kernel cannot unload modules"},
                "used_by": {"type": "array", "items": {"type": "string"}},
                "state": {"type": "string", "enum": ["live", "loading", "unloading", "unknown"]},
                "taint": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                    "required": ["letter", "name"],
                    "properties": {
                        "letter": {"type": "string", "x-sysgate-server-text": true},
                        "name": {"type": "string", "x-sysgate-server-text": true}
                    }}}
            }
        }},
        "count": {"type": "integer", "minimum": 0, "description": "how many modules are in `modules`"},
        "more_not_listed": {"type": "boolean"},
        "invalid_lines": {"type": "integer", "minimum": 0, "description": "lines of /proc/modules that were not understood (left out)"},
        "reason": {"type": "string", "x-sysgate-server-text": true, "description": "why the list is empty"}
    }
}"#;

/// `/proc/modules` is about 100 bytes a line; this is far above any real kernel.
const MAX_BYTES: u64 = 1024 * 1024;

#[derive(Serialize)]
struct TaintOut {
    letter: String,
    name: &'static str,
}

#[derive(Serialize)]
struct ModuleOut {
    name: String,
    size_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refcount: Option<u64>,
    used_by: Vec<String>,
    state: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    taint: Vec<TaintOut>,
}

#[derive(Serialize)]
struct Out {
    modules: Vec<ModuleOut>,
    count: usize,
    more_not_listed: bool,
    #[serde(skip_serializing_if = "is_zero")]
    invalid_lines: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn out(m: Module) -> ModuleOut {
    ModuleOut {
        name: m.name,
        size_bytes: m.size_bytes,
        refcount: m.refcount,
        used_by: m.used_by,
        state: m.state,
        taint: m
            .taint
            .into_iter()
            .map(|c| TaintOut {
                letter: c.to_string(),
                name: taint_letter_name(c).unwrap_or("taint letter not known to this build"),
            })
            .collect(),
    }
}

/// The modules listed in the file at `path` (normally `/proc/modules`).
pub(super) fn collect(path: &Path) -> Result<Value, ToolError> {
    let text = match read_file(path, MAX_BYTES, &mut Budget::new(MAX_BYTES)) {
        Ok((text, _)) => text,
        Err(Unread::Missing) => {
            return super::to_value(&Out {
                modules: Vec::new(),
                count: 0,
                more_not_listed: false,
                invalid_lines: 0,
                reason: Some(format!(
                    "{} does not exist: this kernel has no loadable module support, or it is a sandboxed kernel that hides its modules",
                    path.display()
                )),
            });
        }
        Err(e) => {
            return Err(ToolError::Unavailable(format!(
                "{}: {}",
                path.display(),
                e.reason()
            )));
        }
    };
    let (modules, invalid_lines, more) = parse_modules(&text);
    let reason = modules
        .is_empty()
        .then(|| "no modules are loaded (everything this kernel needs is built in)".to_string());
    super::to_value(&Out {
        count: modules.len(),
        modules: modules.into_iter().map(out).collect(),
        more_not_listed: more,
        invalid_lines,
        reason,
    })
}

pub fn handler(_ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
    collect(Path::new("/proc/modules"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::schema::Schema;

    #[test]
    fn fixture_missing_and_empty_files_fit_the_schema() {
        let schema = Schema::compile(&serde_json::from_str(OUTPUT).unwrap()).unwrap();
        let dir = crate::testdir::TempDir::new("modules");
        let f = dir.join("modules");
        std::fs::write(
            &f,
            "vboxdrv 557056 2 vboxnetflt,vboxnetadp, Live 0x0 (OE)\nbad line\next4 1003520 1 - Live 0x0\n",
        )
        .unwrap();
        let v = collect(&f).unwrap();
        schema.validate(&v).unwrap();
        assert_eq!(v["count"], 2);
        assert_eq!(v["invalid_lines"], 1);
        assert_eq!(
            v["modules"][0]["used_by"],
            serde_json::json!(["vboxnetflt", "vboxnetadp"])
        );
        assert_eq!(v["modules"][0]["taint"][0]["letter"], "O");
        assert!(v["modules"][0].get("address").is_none());
        let v = collect(&dir.join("none")).unwrap();
        schema.validate(&v).unwrap();
        assert!(v["reason"].as_str().unwrap().contains("does not exist"));
        std::fs::write(&f, "").unwrap();
        let v = collect(&f).unwrap();
        assert_eq!(v["count"], 0);
        assert!(v["reason"].is_string());
        // A symlink planted in place of the file is not followed.
        let link = dir.join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert!(collect(&link).is_err());
    }
}
