#![forbid(unsafe_code)]
//! `get_sbom`: the packages `get_packages` lists, as a CycloneDX 1.5 JSON document
//! (cyclonedx.org/docs/1.5/json): `bomFormat`, `specVersion`, a random `urn:uuid` serial
//! number, `version` 1, `metadata` (timestamp, sysgate as the tool, this host's operating
//! system as the component described, and the paging as properties), one `library` component
//! per package with its purl (also its `bom-ref`, unique by construction), and a `compositions`
//! entry whose aggregate says whether the document is complete.

use std::path::Path;
use std::time::SystemTime;

use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value, json};

use super::packages::MAX_TEXT;
use super::purl::purl;
use super::read::{self, Inventory};
use super::{Env, Query, with_env};
use crate::codec::hex;
use crate::error::ToolError;
use crate::tools::Ctx;

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "manager": {"type": "string", "enum": ["dpkg", "apk", "rpm"],
            "description": "the database to read; default: the first present of dpkg, apk, rpm"},
        "offset": {"type": "integer", "minimum": 0, "maximum": 1000000, "default": 0,
            "description": "packages to skip (in name order) before the first component"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000,
            "description": "most components in the document"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["bom", "manager", "database", "total", "offset", "listed", "complete",
                 "incomplete_reasons", "problem_count"],
    "properties": {
        "bom": {"type": "object", "additionalProperties": false,
            "description": "the CycloneDX 1.5 document",
            "required": ["bomFormat", "specVersion", "serialNumber", "version", "metadata",
                         "components", "compositions"],
            "properties": {
                "bomFormat": {"type": "string", "const": "CycloneDX"},
                "specVersion": {"type": "string", "const": "1.5"},
                "serialNumber": {"type": "string", "x-sysgate-server-text": true,
                    "pattern": "^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"},
                "version": {"type": "integer", "const": 1},
                "metadata": {"type": "object", "additionalProperties": false,
                    "required": ["timestamp", "tools", "component", "properties"],
                    "properties": {
                        "timestamp": {"type": "string", "x-sysgate-server-text": true},
                        "tools": {"type": "object", "additionalProperties": false,
                            "required": ["components"],
                            "properties": {"components": {"type": "array", "items": {
                                "type": "object", "additionalProperties": false,
                                "required": ["type", "name", "version"],
                                "properties": {
                                    "type": {"type": "string", "const": "application"},
                                    "name": {"type": "string", "const": "sysgate"},
                                    "version": {"type": "string", "x-sysgate-server-text": true}
                                }
                            }}}
                        },
                        "component": {"type": "object", "additionalProperties": false,
                            "description": "this host's operating system (os-release ID, VERSION_ID, PRETTY_NAME)",
                            "required": ["type", "bom-ref", "name"],
                            "properties": {
                                "type": {"type": "string", "const": "operating-system"},
                                "bom-ref": {"type": "string", "const": "host"},
                                "name": {"type": "string"},
                                "version": {"type": "string"},
                                "description": {"type": "string"}
                            }
                        },
                        "properties": {"type": "array", "items": {
                            "type": "object", "additionalProperties": false,
                            "required": ["name", "value"],
                            "properties": {
                                "name": {"type": "string", "x-sysgate-server-text": true},
                                "value": {"type": "string"}
                            }
                        }}
                    }
                },
                "components": {"type": "array", "maxItems": 1000, "items": {
                    "type": "object", "additionalProperties": false,
                    "required": ["type", "bom-ref", "name", "version", "purl"],
                    "properties": {
                        "type": {"type": "string", "const": "library"},
                        "bom-ref": {"type": "string"},
                        "name": {"type": "string"},
                        "version": {"type": "string"},
                        "purl": {"type": "string"}
                    }
                }},
                "compositions": {"type": "array", "items": {
                    "type": "object", "additionalProperties": false,
                    "required": ["aggregate", "assemblies"],
                    "properties": {
                        "aggregate": {"type": "string", "enum": ["complete", "incomplete"]},
                        "assemblies": {"type": "array", "items": {"type": "string", "const": "host"}}
                    }
                }}
            }
        },
        "manager": {"type": "string", "enum": ["dpkg", "apk", "rpm"]},
        "database": {"type": "string", "x-sysgate-server-text": true},
        "total": {"type": "integer", "minimum": 0, "description": "installed packages in the database"},
        "offset": {"type": "integer", "minimum": 0},
        "listed": {"type": "integer", "minimum": 0, "description": "components in this document"},
        "complete": {"type": "boolean", "description": "the document lists every installed package, and no record was unreadable or partly installed"},
        "incomplete_reasons": {"type": "array", "items": {"type": "string", "x-sysgate-server-text": true}},
        "problem_count": {"type": "integer", "minimum": 0, "description": "database records with a problem (get_packages lists them)"}
    }
}"#;

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let q = Query::from_args(args)?;
    let mut serial = [0u8; 16];
    SystemRandom::new().fill(&mut serial).map_err(|_| {
        ToolError::Failed("the system random source failed: no serial number for the SBOM".into())
    })?;
    with_env(ctx, |env| {
        document(super::root(), &q, env, serial, SystemTime::now())
    })
}

/// An RFC 4122 version 4 UUID from 16 random bytes, as a URN.
pub fn urn_uuid(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The `get_sbom` result for the databases under `root`, with the serial number made from
/// `serial` and the timestamp `now`.
pub fn document(
    root: &Path,
    q: &Query,
    env: &Env<'_>,
    serial: [u8; 16],
    now: SystemTime,
) -> Result<Value, ToolError> {
    let dbs = read::databases(root);
    let db = read::pick(&dbs, q.manager)?;
    let inv = read::read(db, "", env.check)?;
    let os = read::os(root);
    let hostname = read::read_small(&root.join("proc/sys/kernel/hostname"))
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty());
    let mut components = Vec::with_capacity(inv.packages.len().min(q.limit));
    for (i, p) in inv.packages.iter().skip(q.offset).take(q.limit).enumerate() {
        if i % 256 == 0 {
            (env.check)()?;
        }
        let purl = purl(inv.manager, &os, p);
        components.push(json!({
            "type": "library",
            "bom-ref": purl,
            "name": p.name,
            "version": p.version,
            "purl": purl,
        }));
    }
    let listed = components.len();
    let reasons = incomplete_reasons(&inv, q.offset, listed);
    let complete = reasons.is_empty();
    let mut host = json!({
        "type": "operating-system",
        "bom-ref": "host",
        "name": os.id.as_deref().unwrap_or("linux"),
    });
    if let Some(v) = &os.version_id {
        host["version"] = json!(v);
    }
    if let Some(p) = &os.pretty_name {
        host["description"] = json!((env.cut)(p, MAX_TEXT));
    }
    let prop = |name: &str, value: String| json!({"name": name, "value": value});
    let mut properties = vec![
        prop("sysgate:package_manager", inv.manager.name().into()),
        prop("sysgate:database", inv.path.display().to_string()),
        prop("sysgate:packages_total", inv.installed.to_string()),
        prop("sysgate:offset", q.offset.to_string()),
        prop("sysgate:complete", complete.to_string()),
    ];
    if let Some(h) = hostname {
        properties.push(prop("sysgate:hostname", (env.cut)(&h, MAX_TEXT)));
    }
    let bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": urn_uuid(serial),
        "version": 1,
        "metadata": {
            "timestamp": crate::audit::format_rfc3339_millis(now),
            "tools": {"components": [
                {"type": "application", "name": "sysgate", "version": crate::VERSION}
            ]},
            "component": host,
            "properties": properties,
        },
        "components": components,
        "compositions": [{
            "aggregate": if complete { "complete" } else { "incomplete" },
            "assemblies": ["host"],
        }],
    });
    Ok(json!({
        "bom": bom,
        "manager": inv.manager.name(),
        "database": inv.path.display().to_string(),
        "total": inv.installed,
        "offset": q.offset,
        "listed": listed,
        "complete": complete,
        "incomplete_reasons": reasons,
        "problem_count": inv.problem_count,
    }))
}

/// Why a document with `listed` components from `offset` does not describe every installed
/// package (empty: it does).
fn incomplete_reasons(inv: &Inventory, offset: usize, listed: usize) -> Vec<String> {
    let mut out = Vec::new();
    let total = inv.packages.len();
    if offset > 0 || offset + listed < total {
        let first = offset.min(total);
        out.push(format!(
            "one page: components {} to {} of {total} installed packages{}",
            first,
            first + listed,
            if offset + listed < total {
                format!("; the next page starts at offset {}", offset + listed)
            } else {
                String::new()
            }
        ));
    }
    if inv.skipped > 0 {
        out.push(format!(
            "{} database records could not be read and are not listed (get_packages names them)",
            inv.skipped
        ));
    }
    let partial = inv.unlisted_with_files() - inv.skipped;
    if partial > 0 {
        out.push(format!(
            "{partial} packages are partly installed or need reinstalling and are not listed (get_packages counts them in other_states)"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::sbom::test_support::{assert_output_schema, fixture, with_test_env};

    fn run(tree: &str, args: Value) -> Result<Value, ToolError> {
        let q = Query::from_args(args.as_object().unwrap())?;
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let v = with_test_env(|env| document(&fixture(tree), &q, env, [0xff; 16], t))?;
        assert_output_schema("get_sbom", &v);
        Ok(v)
    }

    #[test]
    fn uuid_v4() {
        assert_eq!(
            urn_uuid([0; 16]),
            "urn:uuid:00000000-0000-4000-8000-000000000000"
        );
        assert_eq!(
            urn_uuid([0xff; 16]),
            "urn:uuid:ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
    }

    #[test]
    fn dpkg_fixture_document() {
        let v = run("dpkg", json!({})).unwrap();
        let bom = &v["bom"];
        assert_eq!(bom["specVersion"], "1.5");
        assert_eq!(bom["metadata"]["timestamp"], "2023-11-14T22:13:20.000Z");
        assert_eq!(bom["metadata"]["component"]["name"], "debian");
        assert_eq!(bom["metadata"]["component"]["version"], "12");
        assert_eq!(
            bom["metadata"]["tools"]["components"][0]["version"],
            crate::VERSION
        );
        let c = bom["components"].as_array().unwrap();
        assert_eq!(c.len(), 6);
        assert_eq!(
            c[5]["purl"],
            "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&distro=debian-12"
        );
        let mut refs: Vec<&str> = c.iter().map(|c| c["bom-ref"].as_str().unwrap()).collect();
        refs.sort_unstable();
        refs.dedup();
        assert_eq!(refs.len(), 6, "bom-refs are unique");
        // The fixture has unreadable and half-configured records: not complete, and it says so.
        assert_eq!(v["complete"], false);
        assert_eq!(bom["compositions"][0]["aggregate"], "incomplete");
        let reasons = v["incomplete_reasons"].as_array().unwrap();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(
            reasons[0]
                .as_str()
                .unwrap()
                .starts_with("6 database records")
        );
        assert!(
            reasons[1]
                .as_str()
                .unwrap()
                .starts_with("4 packages are partly installed")
        );
        // A page says where the next one starts.
        let p = run("dpkg", json!({"limit": 4})).unwrap();
        assert_eq!(p["listed"], 4);
        assert!(
            p["incomplete_reasons"][0]
                .as_str()
                .unwrap()
                .contains("next page starts at offset 4")
        );
    }

    #[test]
    fn a_clean_database_is_complete() {
        let dir = crate::testdir::TempDir::new("sbom-clean");
        let status = dir.join("var/lib/dpkg/status");
        std::fs::create_dir_all(status.parent().unwrap()).unwrap();
        std::fs::write(
            &status,
            "Package: a\nStatus: install ok installed\nVersion: 1:2+3\nArchitecture: all\n\n\
             Package: b\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: all\n",
        )
        .unwrap();
        let q = Query::from_args(&Map::new()).unwrap();
        let check = || Ok(());
        let cut = |s: &str, _: usize| s.to_owned();
        let v = document(
            dir.path(),
            &q,
            &Env {
                check: &check,
                cut: &cut,
            },
            [7; 16],
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(v["complete"], true);
        assert_eq!(v["bom"]["compositions"][0]["aggregate"], "complete");
        assert_eq!(
            v["bom"]["components"][0]["purl"],
            "pkg:deb/debian/a@1:2%2B3?arch=all"
        );
        assert_eq!(v["bom"]["metadata"]["component"]["name"], "linux");
    }

    #[test]
    fn apk_fixture_document() {
        let v = run("apk", json!({})).unwrap();
        let c = v["bom"]["components"].as_array().unwrap();
        assert_eq!(
            c[3]["purl"],
            "pkg:apk/alpine/py3-pillow@10.2.0-r0?arch=x86_64&distro=alpine-3.19.1"
        );
        assert_eq!(c[3]["name"], "py3-Pillow");
    }
}
