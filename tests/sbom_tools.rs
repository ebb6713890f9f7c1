//! `get_packages` and `get_sbom` on this machine's real dpkg database, compared with
//! `dpkg-query`, in process (gate, handler, output-schema check) and through the real binary
//! over stdio; and through the real binary on fixture trees (an Alpine database, an rpm
//! database, a dpkg status with every kind of stanza, a hostile status file) mounted over the
//! host's paths in a private mount namespace (root and `unshare -m` only; otherwise those
//! tests say so and pass vacuously).
#![expect(
    clippy::disallowed_methods,
    reason = "the tests run dpkg-query to check the tools, and unshare to mount fixture trees"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests stop at the first surprise"
)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::in_process::call;
use common::schema::{listed_output_schema as output_schema, ok_result};
use common::{Client, TempDir, bin, write_config};
use serde_json::{Value, json};
use sysgate::testing::tools::schema::Schema;

/// (name, version, architecture) of every installed package, per dpkg-query.
fn dpkg_query() -> Option<BTreeSet<(String, String, String)>> {
    let out = Command::new("dpkg-query")
        .args([
            "-W",
            "-f",
            "${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Want} ${db:Status-Eflag} ${db:Status-Status}\\n",
        ])
        .output()
        .ok()?;
    assert!(out.status.success(), "dpkg-query failed");
    let text = String::from_utf8(out.stdout).unwrap();
    Some(
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let status: Vec<&str> = f[3].split(' ').collect();
                (status[1] == "ok" && status[2] == "installed")
                    .then(|| (f[0].to_owned(), f[1].to_owned(), f[2].to_owned()))
            })
            .collect(),
    )
}

fn has_dpkg() -> bool {
    Path::new("/var/lib/dpkg/status").is_file()
}

fn triples(packages: &Value) -> BTreeSet<(String, String, String)> {
    packages
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_owned();
            (s("name"), s("version"), s("architecture"))
        })
        .collect()
}

#[test]
fn get_packages_lists_what_dpkg_query_lists() {
    if !has_dpkg() {
        eprintln!("skipped: no dpkg database on this machine");
        return;
    }
    let want = dpkg_query().expect("dpkg-query runs where /var/lib/dpkg/status exists");
    let v = call("get_packages", json!({}));
    assert_eq!(v["manager"], "dpkg");
    assert_eq!(v["database"], "/var/lib/dpkg/status");
    let total = v["total"].as_u64().unwrap() as usize;
    assert_eq!(total, want.len());
    // All in one page when they fit; else page through.
    let mut got = BTreeSet::new();
    let mut offset = 0;
    loop {
        let page = call("get_packages", json!({"offset": offset, "limit": 1000}));
        got.extend(triples(&page["packages"]));
        offset += page["returned"].as_u64().unwrap();
        if page["more_not_listed"] == false {
            break;
        }
    }
    assert_eq!(got, want);
    // A filter, checked against the same list.
    let f = call("get_packages", json!({"filter": "LIB"}));
    let expect = want.iter().filter(|(n, _, _)| n.contains("lib")).count();
    assert_eq!(f["matched"].as_u64().unwrap() as usize, expect);
    // Installed sizes and source names, against dpkg-query's own fields.
    let out = Command::new("dpkg-query")
        .args([
            "-W",
            "-f",
            "${Package}:${Architecture}\\t${Installed-Size}\\t${source:Package}\\n",
        ])
        .output()
        .unwrap();
    let extra: BTreeSet<(String, String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned())
        })
        .collect();
    let page = call("get_packages", json!({"limit": 1000}));
    for p in page["packages"].as_array().unwrap() {
        let key = format!(
            "{}:{}",
            p["name"].as_str().unwrap(),
            p["architecture"].as_str().unwrap()
        );
        let size = p["installed_bytes"]
            .as_u64()
            .map(|b| (b / 1024).to_string())
            .unwrap_or_default();
        let source = p["source"]
            .as_str()
            .or(p["name"].as_str())
            .unwrap()
            .to_owned();
        assert!(extra.contains(&(key.clone(), size, source)), "{key}: {p}");
    }
}

/// `structuredContent` of a successful call, checked against the published schema.
fn structured(c: &mut Client, schema: &Schema, tool: &str, args: Value) -> Value {
    let r = c.call(tool, args);
    let result = ok_result(&r, schema, tool);
    let v = result["structuredContent"].clone();
    // Host text: the text block is fenced.
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("Untrusted data from "), "{text}");
    v
}

fn serve(d: &TempDir) -> Vec<String> {
    let p = d.path("c.yaml");
    write_config(&p, "", 0o600);
    vec![
        bin().to_owned(),
        "serve".into(),
        "--config".into(),
        p.to_str().unwrap().to_owned(),
    ]
}

#[test]
fn get_sbom_through_the_binary_matches_dpkg_query() {
    if !has_dpkg() {
        eprintln!("skipped: no dpkg database on this machine");
        return;
    }
    let want = dpkg_query().unwrap();
    let d = TempDir::new("sbom");
    let args = serve(&d);
    let args: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    let mut c = Client::initialized(&args);
    let schema = output_schema(&mut c, "get_sbom");
    let v = structured(&mut c, &schema, "get_sbom", json!({}));
    let bom = &v["bom"];
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    let components = bom["components"].as_array().unwrap();
    if want.len() <= 1000 {
        assert_eq!(v["listed"].as_u64().unwrap() as usize, want.len());
        let got: BTreeSet<(String, String)> = components
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().into(),
                    c["version"].as_str().unwrap().into(),
                )
            })
            .collect();
        let names: BTreeSet<(String, String)> = want
            .iter()
            .map(|(n, v, _)| (n.clone(), v.clone()))
            .collect();
        assert_eq!(got, names);
    }
    // Every purl names its component, and bom-refs are unique.
    let os = std::fs::read_to_string("/etc/os-release").unwrap();
    let id = os
        .lines()
        .find_map(|l| l.strip_prefix("ID="))
        .unwrap()
        .trim_matches('"');
    let mut refs = BTreeSet::new();
    for comp in components {
        let purl = comp["purl"].as_str().unwrap();
        let name = comp["name"].as_str().unwrap().replace('+', "%2B");
        assert!(purl.starts_with(&format!("pkg:deb/{id}/{name}@")), "{purl}");
        assert!(purl.contains("?arch="), "{purl}");
        assert!(
            refs.insert(comp["bom-ref"].as_str().unwrap().to_owned()),
            "{purl}"
        );
    }
    // A fresh serial number per document.
    let again = structured(&mut c, &schema, "get_sbom", json!({"limit": 1}));
    assert_ne!(again["bom"]["serialNumber"], bom["serialNumber"]);
    assert_eq!(again["listed"], 1);
    assert_eq!(again["complete"], false);
    assert_eq!(again["bom"]["compositions"][0]["aggregate"], "incomplete");
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sbom")
        .join(name)
}

fn namespaces_work() -> bool {
    common::host::unshare_works(&["-m"])
}

/// A server whose mount namespace has `setup` (a shell script) run in it first.
fn serve_mounted(d: &TempDir, setup: &str, env: &[(&str, &Path)]) -> Client {
    let script = format!("set -e\n{setup}\nexec \"$@\"");
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"])
        .args(serve(d));
    for (k, v) in env {
        cmd.env(k, v);
    }
    Client::initialized_command(cmd)
}

#[test]
fn fixture_trees_through_the_binary() {
    if !namespaces_work() {
        eprintln!("skipped: needs root and unshare -m");
        return;
    }
    let d = TempDir::new("sbom-fixtures");

    // Alpine: dpkg hidden, the fixture's lib/ laid over /usr/lib (where /lib points on merged-/usr
    // systems, and the binary's own libraries stay visible), its os-release over the host's.
    let apk = fixture("apk");
    let lib = if Path::new("/lib").is_symlink() {
        "/usr/lib"
    } else {
        "/lib"
    };
    let setup = format!(
        "mount -t tmpfs tmpfs /var/lib/dpkg\n\
         mount -t overlay overlay -o \"lowerdir=$F/lib:{lib}\" {lib}\n\
         mount --bind \"$F/etc/os-release\" /etc/os-release"
    );
    let mut c = serve_mounted(&d, &setup, &[("F", &apk)]);
    let schema = output_schema(&mut c, "get_packages");
    let v = structured(&mut c, &schema, "get_packages", json!({}));
    assert_eq!(v["manager"], "apk");
    assert_eq!(v["returned"], 4);
    assert_eq!(v["problem_count"], 4);
    assert_eq!(v["packages"][2]["name"], "musl");
    assert_eq!(
        v["packages"][2]["maintainer"],
        "Timo Teräs <timo.teras@iki.fi>"
    );
    let schema = output_schema(&mut c, "get_sbom");
    let s = structured(&mut c, &schema, "get_sbom", json!({}));
    assert_eq!(
        s["bom"]["components"][2]["purl"],
        "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1"
    );
    assert_eq!(s["bom"]["metadata"]["component"]["version"], "3.19.1");
    drop(c);

    // rpm: the database is found and reported as not read in this build.
    let rpm = fixture("rpm");
    let setup = "mount -t overlay overlay -o \"lowerdir=$F/var/lib:/var/lib\" /var/lib\n\
                 mount -t tmpfs tmpfs /var/lib/dpkg";
    let mut c = serve_mounted(&d, setup, &[("F", &rpm)]);
    let r = c.call("get_packages", json!({}));
    assert_eq!(r["result"]["isError"], true, "{r}");
    let text = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("does not read rpm databases"), "{text}");
    let r = c.call("get_sbom", json!({"manager": "rpm"}));
    assert_eq!(r["result"]["isError"], true, "{r}");
    let r = c.call("get_packages", json!({"manager": "dpkg"}));
    let text = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("no dpkg database"), "{text}");
    drop(c);

    // dpkg: every kind of stanza.
    let deb = fixture("dpkg");
    let setup = "mount --bind \"$F/var/lib/dpkg/status\" /var/lib/dpkg/status\n\
                 mount --bind \"$F/etc/os-release\" /etc/os-release";
    let mut c = serve_mounted(&d, setup, &[("F", &deb)]);
    let schema = output_schema(&mut c, "get_packages");
    let v = structured(&mut c, &schema, "get_packages", json!({}));
    assert_eq!(v["returned"], 6);
    assert_eq!(v["other_states"]["config_files"], 1);
    assert_eq!(v["other_states"]["half_installed"], 1);
    assert_eq!(v["other_states"]["reinstall_required"], 1);
    let reasons: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"stanza without a Package field"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"Version is not a valid version"),
        "{reasons:?}"
    );
    let schema = output_schema(&mut c, "get_sbom");
    let s = structured(&mut c, &schema, "get_sbom", json!({}));
    assert_eq!(s["complete"], false);
    assert_eq!(s["bom"]["compositions"][0]["aggregate"], "incomplete");
}

#[test]
fn hostile_status_files_through_the_binary() {
    if !namespaces_work() {
        eprintln!("skipped: needs root and unshare -m");
        return;
    }
    let d = TempDir::new("sbom-hostile");
    let status = d.path("status");
    // A 10 MB field, binary junk, invalid UTF-8, a NUL, a name like an option, and no final
    // newline; one good stanza in the middle.
    let mut text =
        b"Package: big\nStatus: install ok installed\nVersion: 1\nArchitecture: all\nDescription: "
            .to_vec();
    text.extend(std::iter::repeat_n(b'A', 10 * 1024 * 1024));
    text.extend(b"\n\n");
    text.extend((0..=255u8).cycle().take(64 * 1024));
    text.extend(b"\n\nPackage: good\nStatus: install ok installed\nVersion: 2:1.0+x\nArchitecture: amd64\nMaintainer: J\xf6rg <j@example.org>\n\n");
    text.extend(
        b"Package: --output=/x\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n",
    );
    text.extend(b"Package: nul\0\nStatus: install ok installed\nVersion: 1\nArchitecture: all");
    std::fs::write(&status, &text).unwrap();
    let setup = "mount --bind \"$S\" /var/lib/dpkg/status";
    let mut c = serve_mounted(&d, setup, &[("S", &status)]);
    let schema = output_schema(&mut c, "get_packages");
    let v = structured(&mut c, &schema, "get_packages", json!({}));
    let names: Vec<&str> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["big", "good"], "{v}");
    assert_eq!(
        v["packages"][1]["maintainer"],
        "J\u{fffd}rg <j@example.org>"
    );
    assert_eq!(
        v["packages"][0]["summary"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        256
    );
    assert!(v["problem_count"].as_u64().unwrap() >= 2, "{v}");
    let schema = output_schema(&mut c, "get_sbom");
    let s = structured(&mut c, &schema, "get_sbom", json!({}));
    assert_eq!(s["listed"], 2);
    assert_eq!(s["complete"], false);
    // Hostile arguments are refused before anything is read.
    for bad in [
        json!("-rf"),
        json!("--output=/x"),
        json!("$(id)"),
        json!("a;b"),
        json!("a\nb"),
        json!("../x"),
        json!("x".repeat(10_000)),
        json!("a\u{0}b"),
    ] {
        let r = c.call("get_packages", json!({"filter": bad}));
        assert_eq!(r["result"]["isError"], true, "{r}");
        let text = r["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("filter"), "{text}");
    }
    // The server is still fine.
    structured(&mut c, &schema, "get_sbom", json!({"limit": 1}));
}
