//! Tidy checks run by `cargo test`: every crate and module opens with a `//!`
//! paragraph, and no crate depends on a crate of a higher layer (DESIGN.md).

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf()
    }

    /// The layer of each hone crate (DESIGN.md, "Layers").
    fn layer(krate: &str) -> Option<u8> {
        Some(match krate {
            "hone-kernels" => 0,
            "hone-model" | "hone-data" | "hone-metrics" => 10,
            "hone-train" => 20,
            // Layer 3 is ordered: compressing a classifier (distilling,
            // fine-tuning after pruning) trains and evaluates it, so
            // hone-compress builds on hone-tasks, never the reverse.
            "hone-tasks" => 30,
            "hone-compress" => 35,
            "hone" => 40,
            "xtask" | "hone-benches" => 50,
            _ => return None,
        })
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    rust_files(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_module_opens_with_a_doc_paragraph() {
        let mut files = Vec::new();
        for dir in ["crates", "xtask/src", "benches"] {
            rust_files(&root().join(dir), &mut files);
        }
        let undocumented: Vec<_> = files
            .iter()
            .filter(|f| {
                !std::fs::read_to_string(f)
                    .unwrap()
                    .trim_start()
                    .starts_with("//!")
            })
            .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
            .collect();
        assert!(
            undocumented.is_empty(),
            "files without a leading `//!` paragraph: {undocumented:?}"
        );
    }

    #[test]
    fn no_crate_depends_on_a_higher_layer() {
        let mut manifests = vec![
            root().join("xtask/Cargo.toml"),
            root().join("benches/Cargo.toml"),
        ];
        for entry in std::fs::read_dir(root().join("crates")).unwrap() {
            manifests.push(entry.unwrap().path().join("Cargo.toml"));
        }
        let mut violations = Vec::new();
        for manifest in manifests {
            let text = std::fs::read_to_string(&manifest).unwrap();
            let name = text
                .lines()
                .find_map(|l| l.strip_prefix("name = "))
                .unwrap()
                .trim_matches('"')
                .to_string();
            let own =
                layer(&name).unwrap_or_else(|| panic!("crate {name} has no layer in DESIGN.md"));
            let mut section = "";
            for line in text.lines() {
                if line.starts_with('[') {
                    section = line;
                    continue;
                }
                if !(section.contains("dependencies")) {
                    continue;
                }
                let dep = line
                    .split(|c: char| c == '=' || c == '.' || c.is_whitespace())
                    .next()
                    .unwrap_or("");
                if let Some(dep_layer) = layer(dep) {
                    let allowed = dep_layer < own
                        || (section.contains("dev-dependencies") && dep_layer <= own);
                    if !allowed {
                        violations.push(format!(
                            "{name} (layer {own}) depends on {dep} (layer {dep_layer})"
                        ));
                    }
                }
            }
        }
        assert!(violations.is_empty(), "{violations:?}");
    }
}
