//! `hone distill` end to end on a tiny classifier: a student narrower than
//! its teacher (half the hidden channels) trains with hidden-state loss
//! through a learned projection and attention-map loss, saves at its
//! smaller width without the projection, and evaluates; widths that are
//! wider than the teacher or split a head are usage errors that write
//! nothing. A pretrained encoder (no head) can be the student too.

mod common;

use common::{hone, text, tiny_classifier, tiny_csv};
use hone::compress::SourceModel;

#[test]
fn a_narrow_student_trains_with_a_projection_and_saves_narrow() {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tiny_classifier(tmp.path());
    let data = tiny_csv(tmp.path());
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let out = tmp.path().join("narrow");
    let distill = |hidden: &str, out: &std::path::Path| {
        hone(&[
            "distill",
            "--teacher",
            &s(&teacher),
            "--data",
            &s(&data),
            "--student-layers",
            "1",
            "--student-hidden",
            hidden,
            "--hidden-loss",
            "1",
            "--attention-loss",
            "1",
            "--epochs",
            "1",
            "--max-len",
            "32",
            "--out",
            &s(out),
        ])
    };
    let o = distill("16", &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let student = SourceModel::open(&out).unwrap();
    assert_eq!(student.config.hidden_size, 16);
    assert_eq!(student.config.num_hidden_layers, 1);
    // Both teacher heads stay (head size 16), so attention maps could match.
    assert_eq!(student.config.layer(0).heads, 2);
    assert!(
        !student.extras.iter().any(|e| e.name.contains("projection")),
        "the projection is a training aid, not part of the student"
    );
    let classifier = student
        .extras
        .iter()
        .find(|e| e.name == "classifier.weight")
        .unwrap();
    let classes = SourceModel::open(&teacher)
        .unwrap()
        .extras
        .iter()
        .find(|e| e.name == "classifier.weight")
        .unwrap()
        .shape[0];
    assert_eq!(classifier.shape, [classes, 16]);
    assert!(!out.join("student-init").exists());
    let o = hone(&["eval", "classify", "--model", &s(&out), "--data", &s(&data)]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    for (bad, says) in [("48", "wider"), ("20", "multiple"), ("0", "multiple")] {
        let dir = tmp.path().join(format!("bad-{bad}"));
        let o = distill(bad, &dir);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        assert!(text(&o.stderr).contains(says), "{}", text(&o.stderr));
        assert!(!dir.exists());
    }
}

#[test]
fn a_pretrained_encoder_can_be_the_student() {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tiny_classifier(tmp.path());
    let data = tiny_csv(tmp.path());
    // The plain encoder the teacher was fine-tuned from: it gets a new head.
    let encoder = tmp.path().join("tiny-bert");
    let out = tmp.path().join("from-encoder");
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let o = hone(&[
        "distill",
        "--teacher",
        &s(&teacher),
        "--data",
        &s(&data),
        "--student",
        &s(&encoder),
        "--epochs",
        "1",
        "--max-len",
        "32",
        "--out",
        &s(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(out.join("hone_classifier.json").is_file());
    let distilled: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("distill.json")).unwrap()).unwrap();
    assert_eq!(distilled["layer_map"], serde_json::json!([0, 1]));
}
