#![forbid(unsafe_code)]
//! `get_packages`: one database read as a stream (see `read`), filtered, sorted and paged.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::read::{self, Database, Inventory};
use super::{Env, Query, with_env};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::package::State;

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "manager": {"type": "string", "enum": ["dpkg", "apk", "rpm"],
            "description": "the database to read; default: the first present of dpkg, apk, rpm"},
        "filter": {"type": "string", "minLength": 1, "maxLength": 128,
            "pattern": "^[A-Za-z0-9._+~^][A-Za-z0-9._+~^-]*$",
            "description": "only packages whose name contains this (ASCII case-insensitive)"},
        "offset": {"type": "integer", "minimum": 0, "maximum": 1000000, "default": 0,
            "description": "packages to skip (in name order) before the first returned"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000,
            "description": "most packages to return"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["manager", "database", "databases", "packages", "total", "matched", "offset",
                 "returned", "more_not_listed", "other_states", "problems", "problem_count"],
    "properties": {
        "manager": {"type": "string", "enum": ["dpkg", "apk", "rpm"]},
        "database": {"type": "string", "x-sysgate-server-text": true, "description": "the file or directory read"},
        "databases": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["manager", "path", "present"],
            "properties": {
                "manager": {"type": "string", "enum": ["dpkg", "apk", "rpm"]},
                "path": {"type": "string", "x-sysgate-server-text": true},
                "present": {"type": "boolean"}
            }
        }},
        "packages": {"type": "array", "maxItems": 1000, "items": {
            "type": "object", "additionalProperties": false,
            "required": ["name", "version", "architecture"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string", "description": "as the package manager writes it (dpkg [epoch:]upstream[-revision], apk version-rN, rpm [epoch:]version-release)"},
                "architecture": {"type": "string"},
                "source": {"type": "string", "description": "the source package, when recorded"},
                "source_version": {"type": "string", "description": "the source package's version, when recorded and different"},
                "installed_bytes": {"type": "integer", "minimum": 0, "description": "installed size (dpkg records KiB: this is that times 1024)"},
                "maintainer": {"type": "string"},
                "summary": {"type": "string", "description": "one line; at most 256 characters"}
            }
        }},
        "total": {"type": "integer", "minimum": 0, "description": "installed packages in the database"},
        "matched": {"type": "integer", "minimum": 0, "description": "installed packages that match `filter`"},
        "offset": {"type": "integer", "minimum": 0},
        "returned": {"type": "integer", "minimum": 0, "description": "how many packages are in `packages`"},
        "more_not_listed": {"type": "boolean", "description": "matching packages follow this page"},
        "other_states": {"type": "object", "additionalProperties": false,
            "description": "database records of packages that are not listed, by state",
            "required": ["not_installed", "config_files", "half_installed", "unpacked", "half_configured",
                         "triggers_awaited", "triggers_pending", "reinstall_required", "signing_key"],
            "properties": {
                "not_installed": {"type": "integer", "minimum": 0},
                "config_files": {"type": "integer", "minimum": 0, "description": "removed; only configuration files remain"},
                "half_installed": {"type": "integer", "minimum": 0},
                "unpacked": {"type": "integer", "minimum": 0},
                "half_configured": {"type": "integer", "minimum": 0},
                "triggers_awaited": {"type": "integer", "minimum": 0},
                "triggers_pending": {"type": "integer", "minimum": 0},
                "reinstall_required": {"type": "integer", "minimum": 0, "description": "dpkg's reinstreq flag"},
                "signing_key": {"type": "integer", "minimum": 0, "description": "rpm gpg-pubkey records (imported keys)"}
            }
        },
        "problems": {"type": "array", "maxItems": 20, "items": {
            "type": "object", "additionalProperties": false,
            "required": ["line", "reason", "listed"],
            "properties": {
                "line": {"type": "integer", "minimum": 0, "description": "where the record starts in the database (or the rpm output)"},
                "package": {"type": "string"},
                "reason": {"type": "string", "x-sysgate-server-text": true},
                "listed": {"type": "boolean", "description": "the package is listed anyway (only an optional field was dropped)"}
            }
        }},
        "problem_count": {"type": "integer", "minimum": 0}
    }
}"#;

/// Longest maintainer or summary returned, in characters.
pub const MAX_TEXT: usize = 256;

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let q = Query::from_args(args)?;
    with_env(ctx, |env| listing(super::root(), &q, env))
}

/// The `get_packages` result for the databases under `root`.
pub fn listing(root: &Path, q: &Query, env: &Env<'_>) -> Result<Value, ToolError> {
    let dbs = read::databases(root);
    let db = read::pick(&dbs, q.manager)?;
    let inv = read::read(db, &q.filter, env.check)?;
    Ok(render(&dbs, &inv, q, env))
}

fn databases_json(dbs: &[Database]) -> Value {
    Value::Array(
        dbs.iter()
            .map(|d| {
                json!({
                    "manager": d.manager.name(),
                    "path": d.path.display().to_string(),
                    "present": d.present,
                })
            })
            .collect(),
    )
}

fn states_json(inv: &Inventory) -> Value {
    let mut m = Map::new();
    for (s, n) in State::ALL.iter().zip(inv.states) {
        m.insert(s.name().into(), json!(n));
    }
    Value::Object(m)
}

fn render(dbs: &[Database], inv: &Inventory, q: &Query, env: &Env<'_>) -> Value {
    let page: Vec<Value> = inv
        .packages
        .iter()
        .skip(q.offset)
        .take(q.limit)
        .map(|p| {
            let mut m = Map::new();
            m.insert("name".into(), Value::String(p.name.clone()));
            m.insert("version".into(), Value::String(p.version.clone()));
            m.insert("architecture".into(), Value::String(p.arch.clone()));
            if let Some(s) = &p.source {
                m.insert("source".into(), Value::String(s.clone()));
            }
            if let Some(s) = &p.source_version {
                m.insert("source_version".into(), Value::String(s.clone()));
            }
            if let Some(n) = p.installed_bytes {
                m.insert("installed_bytes".into(), json!(n));
            }
            if let Some(s) = &p.maintainer {
                m.insert("maintainer".into(), Value::String((env.cut)(s, MAX_TEXT)));
            }
            if let Some(s) = &p.summary {
                m.insert("summary".into(), Value::String((env.cut)(s, MAX_TEXT)));
            }
            Value::Object(m)
        })
        .collect();
    let returned = page.len();
    let problems: Vec<Value> = inv
        .problems
        .iter()
        .map(|r| {
            let mut v =
                json!({"line": r.problem.line, "reason": r.problem.reason, "listed": r.listed});
            if let Some(p) = &r.problem.package {
                v["package"] = Value::String(p.clone());
            }
            v
        })
        .collect();
    json!({
        "manager": inv.manager.name(),
        "database": inv.path.display().to_string(),
        "databases": databases_json(dbs),
        "packages": page,
        "total": inv.installed,
        "matched": inv.packages.len(),
        "offset": q.offset,
        "returned": returned,
        "more_not_listed": q.offset + returned < inv.packages.len(),
        "other_states": states_json(inv),
        "problems": problems,
        "problem_count": inv.problem_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::Registry;
    use crate::tools::sbom::test_support::{assert_output_schema, fixture, with_test_env};

    fn run(tree: &str, args: Value) -> Result<Value, ToolError> {
        let q = Query::from_args(args.as_object().unwrap())?;
        let v = with_test_env(|env| listing(&fixture(tree), &q, env))?;
        assert_output_schema("get_packages", &v);
        Ok(v)
    }

    #[test]
    fn dpkg_fixture_through_the_result_shape() {
        let v = run("dpkg", json!({})).unwrap();
        assert_eq!(v["manager"], "dpkg");
        assert_eq!(v["total"], 6);
        assert_eq!(v["returned"], 6);
        assert_eq!(v["more_not_listed"], false);
        assert_eq!(v["other_states"]["config_files"], 1);
        assert_eq!(v["other_states"]["half_configured"], 1);
        assert_eq!(v["problem_count"], 7);
        assert_eq!(v["databases"][0]["present"], true);
        assert_eq!(v["databases"][1]["present"], false);
        let cxx = &v["packages"][5];
        assert_eq!(cxx["name"], "libstdc++6");
        assert_eq!(cxx["source"], "gcc-12");
        assert_eq!(cxx["source_version"], "12.2.0-14+b1");
        assert_eq!(cxx["installed_bytes"], 2851 * 1024);
        // Paging and filtering.
        let p = run("dpkg", json!({"offset": 2, "limit": 2})).unwrap();
        assert_eq!(p["returned"], 2);
        assert_eq!(p["packages"][0]["name"], "leaving-pkg");
        assert_eq!(p["more_not_listed"], true);
        let f = run("dpkg", json!({"filter": "C6"})).unwrap();
        assert_eq!(
            (f["matched"].as_u64(), f["total"].as_u64()),
            (Some(2), Some(6))
        );
        let past = run("dpkg", json!({"offset": 100})).unwrap();
        assert_eq!(past["returned"], 0);
        assert_eq!(past["more_not_listed"], false);
    }

    #[test]
    fn other_trees_and_bad_arguments() {
        let a = run("apk", json!({})).unwrap();
        assert_eq!(a["manager"], "apk");
        assert_eq!(a["returned"], 4);
        let e = run("rpm", json!({})).unwrap_err();
        assert!(matches!(e, ToolError::Unavailable(_)), "{e}");
        let e = run("dpkg", json!({"manager": "apk"})).unwrap_err();
        assert!(e.to_string().contains("no apk database"), "{e}");
        for bad in [
            json!({"filter": "-rf"}),
            json!({"filter": ""}),
            json!({"filter": "a b"}),
            json!({"filter": "$(id)"}),
            json!({"filter": "x".repeat(129)}),
            json!({"filter": 3}),
            json!({"limit": 0}),
            json!({"limit": 1001}),
            json!({"offset": -1}),
            json!({"manager": "yum"}),
        ] {
            let e = run("dpkg", bad.clone()).unwrap_err();
            assert!(matches!(e, ToolError::InvalidArgument { .. }), "{bad}: {e}");
        }
        // The schema refuses the same filters before any handler runs.
        let r = Registry::new().unwrap();
        let input = &r.get("get_packages").unwrap().compiled().unwrap().input;
        for bad in ["-rf", "a b", "$(id)", "a\nb", "../x", "a\0"] {
            let args = json!({"filter": bad});
            assert!(
                input.validate_args(args.as_object().unwrap()).is_err(),
                "{bad:?}"
            );
        }
        assert!(
            input
                .validate_args(json!({"filter": "libc6"}).as_object().unwrap())
                .is_ok()
        );
    }
}
