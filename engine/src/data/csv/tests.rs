//! The CSV cases users hit, each a small fixture: it trains, or the error says what to write.

use super::*;
use std::io::Write;
use std::path::PathBuf;

/// A fresh file under the temp dir holding `bytes`.
fn fixture(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hyphae-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn load_text(name: &str, text: &str, opts: &str) -> Result<Split> {
    let p = fixture(name, text.as_bytes());
    let spec = if opts.is_empty() {
        p.display().to_string()
    } else {
        format!("{}:{opts}", p.display())
    };
    load(&spec, 1, None)
}

/// Ten rows: x = i, y = 2i, class = i % 3.
fn table(header: bool) -> String {
    let mut s = String::new();
    if header {
        s.push_str("x, y ,class\n");
    }
    for i in 0..10 {
        s.push_str(&format!("{i},{},{}\n", 2 * i, i % 3));
    }
    s
}

/// All rows of a split, sorted by label then features, as a comparable fingerprint.
fn rows(s: &Split) -> usize {
    s.train.len() + s.valid.len()
}

#[test]
fn header_and_default_label_is_last_column() {
    for h in [true, false] {
        let s = load_text(&format!("t{h}.csv"), &table(h), "").unwrap();
        assert_eq!(s.train.features.shape(), &[8, 2]);
        assert_eq!(s.valid.features.shape(), &[2, 2]);
        assert_eq!(s.train.labels.shape(), &[8]);
        assert_eq!(s.train.num_classes, Some(3));
        assert_eq!(s.preprocessing.class_names, vec!["0", "1", "2"]);
        if h {
            assert_eq!(s.preprocessing.feature_names, vec!["x", "y"]);
        }
    }
}

#[test]
fn label_by_name_and_index() {
    let by_name = load_text("n.csv", &table(true), "label=x").unwrap();
    let by_index = load_text("n.csv", &table(true), "label=0").unwrap();
    assert_eq!(by_name.train, by_index.train);
    assert_eq!(by_name.train.num_classes, Some(10));
    let e = load_text("n2.csv", &table(false), "label=x")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no label column `x`") && e.contains("no header"),
        "{e}"
    );
    let e = load_text("n.csv", &table(true), "label=z")
        .unwrap_err()
        .to_string();
    assert!(e.contains("columns are: x, y, class"), "{e}");
}

#[test]
fn regression_labels_say_so() {
    let s = load_text("r.csv", "a,b\n1,0.5\n2,1.5\n3,-2\n4,7\n5,1\n", "").unwrap();
    assert_eq!(s.train.num_classes, None);
    assert_eq!(s.train.labels.shape(), &[4, 1]);
    assert!(
        s.notes
            .iter()
            .any(|n| n.contains("regression") && n.contains("task=classify")),
        "{:?}",
        s.notes
    );
}

#[test]
fn standardised_with_train_statistics_only() {
    // The label is the row id, so each row's raw features are known: x = id², y = 5.
    let mut text = String::from("x,y,id\n");
    for i in 0..20 {
        text.push_str(&format!("{},5,{i}\n", i * i));
    }
    let s = load_text("std.csv", &text, "").unwrap();
    let raw =
        |d: &Dataset| -> Vec<f64> { d.labels.data().iter().map(|&i| (i * i) as f64).collect() };
    let tr = raw(&s.train);
    let m = tr.iter().sum::<f64>() / tr.len() as f64;
    let sd = (tr.iter().map(|v| (v - m).powi(2)).sum::<f64>() / tr.len() as f64).sqrt();
    for d in [&s.train, &s.valid] {
        for (row, r) in d.features.tensor().unwrap().data().chunks(2).zip(raw(d)) {
            assert!((row[0] as f64 - (r - m) / sd).abs() < 1e-5);
            assert_eq!(row[1], 0.0, "a constant column maps to 0");
        }
    }
    assert!((s.preprocessing.mean[0] as f64 - m).abs() < 1e-3);
}

#[test]
fn text_in_a_feature_names_line_column_and_the_fix() {
    let e = load_text("txt.csv", "x,y,class\n1,2,0\n3,abc,1\n", "")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("column `y` (index 1) (`abc` on line 3)") && e.contains("drop=COL"),
        "{e}"
    );
}

#[test]
fn ragged_row_names_line() {
    let e = load_text("rag.csv", "x,y,class\n1,2,0\n3,4\n5,6,1\n", "")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 3: 2 columns, expected 3"), "{e}");
}

#[test]
fn quoted_cells_and_crlf() {
    let s = load_text(
        "q.csv",
        "\"a, the first\",\"b\"\r\n1,\"0\"\r\n2,1\r\n3,0\r\n",
        "label=b",
    )
    .unwrap();
    assert_eq!(s.train.num_classes, Some(2));
    assert_eq!(rows(&s), 3);
    assert_eq!(s.preprocessing.feature_names, vec!["a, the first"]);
}

#[test]
fn shuffle_is_seeded() {
    let p = fixture("seed.csv", table(true).as_bytes());
    let spec = p.display().to_string();
    let a = load(&spec, 5, None).unwrap();
    assert_eq!(a, load(&spec, 5, None).unwrap());
    let c = load(&spec, 6, None).unwrap();
    assert_ne!(a.valid.labels.data(), c.valid.labels.data());
}

#[test]
fn missing_file() {
    let e = load("/nonexistent/x.csv", 0, None).unwrap_err().to_string();
    assert!(e.contains("cannot read"), "{e}");
}

const IRIS: &str = "sepal_length,sepal_width,species
5.1,3.5,setosa
4.9,3.0,setosa
7.0,3.2,versicolor
6.4,3.2,versicolor
6.3,3.3,virginica
5.8,2.7,virginica
";

#[test]
fn bom_is_stripped_and_the_header_kept() {
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice(IRIS.as_bytes());
    let s = load(&fixture("bom.csv", &bytes).display().to_string(), 0, None).unwrap();
    assert_eq!(rows(&s), 6, "no sample lost to the BOM");
    assert_eq!(
        s.preprocessing.feature_names,
        vec!["sepal_length", "sepal_width"]
    );
    let p = fixture("bom2.csv", &bytes);
    let s = load(&format!("{}:label=species", p.display()), 0, None).unwrap();
    assert_eq!(s.train.num_classes, Some(3));
}

#[test]
fn string_labels_become_named_classes() {
    let s = load_text("iris.csv", IRIS, "label=species").unwrap();
    assert_eq!(
        s.preprocessing.class_names,
        vec!["setosa", "versicolor", "virginica"]
    );
    assert_eq!(s.train.num_classes, Some(3));
    assert!(
        s.notes
            .iter()
            .any(|n| n.contains("3 classes (setosa, versicolor, virginica)"))
    );
    let e = load_text("iris.csv", IRIS, "task=regress")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`setosa` is not a number") && e.contains("task=classify"),
        "{e}"
    );
}

#[test]
fn numeric_header_from_pandas_is_a_header() {
    // pd.DataFrame(X).assign(label=y).to_csv(index=False)
    let s = load_text("pd.csv", "0,1,label\n0.5,1.5,0\n0.1,2.5,1\n0.3,0.5,1\n", "").unwrap();
    assert_eq!(rows(&s), 3);
    assert_eq!(s.preprocessing.feature_names, vec!["0", "1"]);
    // pd.DataFrame(np.c_[X, y]).to_csv(index=False): every name is a number.
    let s = load_text("pd2.csv", "0,1,2\n0.5,1.5,0\n0.1,2.5,1\n0.3,0.5,1\n", "").unwrap();
    assert_eq!(rows(&s), 3);
    assert!(
        s.notes.iter().any(|n| n.contains("header=no")),
        "{:?}",
        s.notes
    );
    let s = load_text(
        "pd2.csv",
        "0,1,2\n0.5,1.5,0\n0.1,2.5,1\n0.3,0.5,1\n",
        "header=no",
    )
    .unwrap();
    assert_eq!(rows(&s), 4);
}

#[test]
fn sklearn_header_names_the_classes() {
    // sklearn/datasets/data/iris.csv starts `150,4,setosa,versicolor,virginica`.
    let text = "6,2,setosa,versicolor,virginica\n5.1,3.5,0\n4.9,3.0,0\n7.0,3.2,1\n6.4,3.2,1\n6.3,3.3,2\n5.8,2.7,2\n";
    let s = load_text("skl.csv", text, "").unwrap();
    assert_eq!(rows(&s), 6);
    assert_eq!(
        s.preprocessing.class_names,
        vec!["setosa", "versicolor", "virginica"]
    );
    assert!(
        s.notes.iter().any(|n| n.contains("sklearn")),
        "{:?}",
        s.notes
    );
}

#[test]
fn semicolons_and_tabs_are_sniffed() {
    let s = load_text("semi.csv", &IRIS.replace(',', ";"), "label=species").unwrap();
    assert_eq!(s.train.features.shape()[1], 2);
    assert!(
        s.notes.iter().any(|n| n.contains("delimiter `;`")),
        "{:?}",
        s.notes
    );
    let s = load_text("tab.tsv", &IRIS.replace(',', "\t"), "").unwrap();
    assert_eq!(s.train.num_classes, Some(3));
    // German-style decimals need sep=; and still fail clearly on `5,1`.
    let s = load_text("semi2.csv", &IRIS.replace(',', ";"), "sep=;").unwrap();
    assert_eq!(rows(&s), 6);
}

#[test]
fn trailing_delimiters_are_tolerated() {
    let text = "a,b,label,\n1,2,0,\n3,4,1,\n5,6,0,\n7,8,1,\n";
    let s = load_text("trail.csv", text, "").unwrap();
    assert_eq!(s.train.features.shape()[1], 2);
    assert_eq!(s.train.num_classes, Some(2));
    // Only the data rows end in a comma.
    let s = load_text("trail2.csv", &text.replacen("label,", "label", 1), "").unwrap();
    assert_eq!(s.train.num_classes, Some(2));
}

#[test]
fn every_missing_value_is_counted_and_the_options_work() {
    let text = "a,b,label\n1,,0\n2,3,1\nNA,4,0\n5,6,\n7,8,1\n9,?,0\n";
    let e = load_text("na.csv", text, "").unwrap_err().to_string();
    assert!(e.contains("4 missing value(s) in 4 row(s)"), "{e}");
    assert!(
        e.contains("line 2 column `b` (index 1)") && e.contains("line 4 column `a`"),
        "{e}"
    );
    assert!(e.contains("na=drop") && e.contains("na=mean"), "{e}");
    let s = load_text("na.csv", text, "na=drop").unwrap();
    assert_eq!(rows(&s), 2);
    let s = load_text("na.csv", text, "na=mean").unwrap();
    assert_eq!(rows(&s), 5, "the row without a label is left out");
    assert!(
        s.train
            .features
            .tensor()
            .unwrap()
            .data()
            .iter()
            .chain(s.valid.features.tensor().unwrap().data())
            .all(|v| v.is_finite())
    );
    assert!(s.preprocessing.fill_missing);
}

#[test]
fn pandas_index_column_is_left_out_and_drop_removes_columns() {
    // df.to_csv() with the default index=True.
    let text = ",a,b,label\n0,1.5,2,0\n1,2.5,3,1\n2,3.5,1,0\n3,0.5,2,1\n";
    let s = load_text("idx.csv", text, "").unwrap();
    assert_eq!(s.preprocessing.feature_names, vec!["a", "b"]);
    assert_eq!(s.preprocessing.feature_columns, vec![1, 2]);
    assert!(
        s.notes.iter().any(|n| n.contains("pandas index")),
        "{:?}",
        s.notes
    );
    let s = load_text("idx.csv", text, "drop=b").unwrap();
    assert_eq!(s.preprocessing.feature_names, vec!["a"]);
    let s = load_text(
        "idx2.csv",
        "id,a,b,label\n7,1,2,0\n9,2,3,1\n4,1,1,1\n",
        "drop=id,b",
    )
    .unwrap();
    assert_eq!(s.preprocessing.feature_names, vec!["a"]);
    let e = load_text("idx2.csv", "id,a,b,label\n7,1,2,0\n9,2,3,1\n", "drop=ID").unwrap_err();
    assert!(
        e.to_string()
            .contains("drop: no column `ID`; columns are: id, a, b, label"),
        "{e}"
    );
}

#[test]
fn one_based_labels_are_renumbered_with_a_hint() {
    let text = "a,b,class\n1,2,1\n2,3,2\n3,1,3\n4,4,1\n5,5,2\n";
    let s = load_text("one.csv", text, "").unwrap();
    assert_eq!(s.train.num_classes, Some(3), "no empty class 0");
    assert_eq!(s.preprocessing.class_names, vec!["1", "2", "3"]);
    assert!(
        s.notes.iter().any(|n| n.contains("runs from 1")),
        "{:?}",
        s.notes
    );
}

#[test]
fn plus_minus_one_and_float_labels_say_which_choice_was_made() {
    let s = load_text("pm.csv", "a,y\n1,-1\n2,1\n3,-1\n4,1\n", "").unwrap();
    assert_eq!(s.train.num_classes, Some(2));
    assert_eq!(s.preprocessing.class_names, vec!["-1", "1"]);
    assert!(
        s.notes
            .iter()
            .any(|n| n.contains("2 classes") && n.contains("task=regress"))
    );
    let s = load_text("pm.csv", "a,y\n1,-1\n2,1\n3,-1\n4,1\n", "task=regress").unwrap();
    assert_eq!(s.train.num_classes, None);
    let s = load_text("fl.csv", "a,y\n1,0.5\n2,1\n3,0\n4,1\n", "task=classify").unwrap();
    assert_eq!(s.preprocessing.class_names, vec!["0", "0.5", "1"]);
}

#[test]
fn gzip_is_read() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(IRIS.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let s = load(
        &fixture("iris.csv.gz", &bytes).display().to_string(),
        0,
        None,
    )
    .unwrap();
    assert_eq!(rows(&s), 6);
    assert_eq!(s.train.name, "iris");
    // Corrupt gzip: an error naming the file, never a panic.
    let e = load(
        &fixture("bad.csv.gz", &bytes[..bytes.len() / 2])
            .display()
            .to_string(),
        0,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("bad.csv.gz"), "{e}");
}

#[test]
fn a_test_file_is_read_with_the_training_preprocessing() {
    let train = load_text("tr.csv", IRIS, "label=species").unwrap();
    let mut fitted = train.preprocessing.clone();
    fitted.spec = "csv:tr.csv:label=species".into();
    // Another file with only two of the classes and different statistics.
    let test = fixture(
        "te.csv",
        b"sepal_length,sepal_width,species\n5.1,3.5,virginica\n7.0,3.2,setosa\n",
    );
    let s = load(&test.display().to_string(), 0, Some(&fitted)).unwrap();
    let all = s.part(super::super::Part::All).unwrap();
    let mut labels = all.labels.data().to_vec();
    labels.sort_by(f32::total_cmp);
    assert_eq!(labels, vec![0.0, 2.0], "names map to the trained indices");
    let x0 = (5.1 - fitted.mean[0]) / fitted.std[0];
    assert!(
        all.features
            .tensor()
            .unwrap()
            .data()
            .iter()
            .any(|v| (v - x0).abs() < 1e-5)
    );
    let bad = fixture(
        "te2.csv",
        b"sepal_length,sepal_width,species\n5.1,3.5,rose\n7.0,3.2,setosa\n",
    );
    let e = load(&bad.display().to_string(), 0, Some(&fitted))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "label `rose` is not one of the model's classes (setosa, versicolor, virginica)"
        ),
        "{e}"
    );
}
