//! Image folders end to end through the trainer: the same digits as an `images:` folder
//! and as the built-in MNIST reader train identically; augmentation touches training
//! batches only.

use hyphae::data::{self, Dataset, Split};
use hyphae::graph::ValidGraph;
use hyphae::tensor::Tensor;
use hyphae::train::trainer::{EpochReport, Event, TrainOptions, Trainer};
use image::{GrayImage, Luma};
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hyphae-images-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The real MNIST test split, where this checkout has it.
fn mnist_dir() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("../../shared/data/mnist"),
        root.join("../shared/data/mnist"),
        PathBuf::from("/work/shared/data/mnist"),
    ]
    .into_iter()
    .find(|d| d.join("t10k-images-idx3-ubyte.gz").is_file())
}

/// A small MLP over `[1, 28, 28]` digits; `augment` is put in its training section.
fn graph(dir: &Path, augment: &str) -> ValidGraph {
    let text = format!(
        "(version: 1, inputs: [(name: \"image\", shape: [1, 28, 28]),
            (name: \"label\", shape: [], source: Labels)],
          nodes: [(name: \"flatten\", op: Flatten(), inputs: [\"image\"]),
            (name: \"fc1\", op: Linear(out_features: 32), inputs: [\"flatten\"]),
            (name: \"relu\", op: ReLU(), inputs: [\"fc1\"]),
            (name: \"logits\", op: Linear(out_features: 10), inputs: [\"relu\"]),
            (name: \"loss\", op: CrossEntropyLoss(), inputs: [\"logits\", \"label\"])],
          training: (optimizer: Adam(lr: 0.003), batch_size: 32, epochs: 3, seed: 7 {augment}))"
    );
    let path = dir.join("mlp.ron");
    std::fs::write(&path, text).unwrap();
    ValidGraph::load(&path).unwrap()
}

/// Trains to the end; the epoch reports.
fn train(graph: ValidGraph, split: Split) -> Vec<EpochReport> {
    let opts = TrainOptions {
        epochs: graph.file.training.epochs,
        ..TrainOptions::default()
    };
    let mut t = Trainer::new(graph, split, opts).unwrap();
    let mut epochs = Vec::new();
    loop {
        match t.step().unwrap() {
            Event::Epoch(r) => epochs.push(r),
            Event::Finished(_) => return epochs,
            Event::Step(_) => {}
            Event::NonFinite { node, .. } => panic!("NaN at {node}"),
        }
    }
}

/// Writes `d`'s samples as `root/<part>/<label>/<index>.png` (bytes recovered from the
/// MNIST standardisation); returns the indices in the order an image folder lists them
/// (by class folder, then file name).
fn write_pngs(d: &Dataset, n: usize, root: &Path, part: &str) -> Vec<usize> {
    let x = d.features.tensor().unwrap();
    let mut order: Vec<(usize, usize)> = Vec::new();
    for i in 0..n {
        let label = d.labels.data()[i] as usize;
        let px = &x.data()[i * 784..(i + 1) * 784];
        let bytes: Vec<u8> = px
            .iter()
            .map(|v| ((v * 0.3081 + 0.1307) * 255.0).round() as u8)
            .collect();
        let img = GrayImage::from_fn(28, 28, |c, r| Luma([bytes[(r * 28 + c) as usize]]));
        let path = root.join(part).join(label.to_string());
        std::fs::create_dir_all(&path).unwrap();
        img.save(path.join(format!("{i:05}.png"))).unwrap();
        order.push((label, i));
    }
    order.sort();
    order.into_iter().map(|(_, i)| i).collect()
}

/// The acceptance check of the image-folder reader: 400 real MNIST digits written as PNGs
/// and read back with MNIST's normalisation constants are bit-for-bit the samples the
/// built-in reader gives (in the folder's order), so the same graph, seed and batch order
/// train to exactly the same losses and accuracies.
#[test]
fn an_image_folder_trains_exactly_like_the_same_mnist_digits() {
    let Some(mnist) = mnist_dir() else {
        println!("skipped: MNIST directory not found (../shared/data/mnist)");
        return;
    };
    let dir = temp_dir("mnist");
    let m = data::load(&format!("mnist:{}", mnist.display()), 0).unwrap();
    let root = dir.join("digits");
    let train_order = write_pngs(&m.train, 300, &root, "train");
    let valid_order = write_pngs(&m.valid, 100, &root, "val");
    let builtin = Split::new(
        m.train.subset(&train_order).unwrap(),
        m.valid.subset(&valid_order).unwrap(),
    );
    let folder = data::load(
        &format!("images:{}:mean=0.1307,std=0.3081", root.display()),
        0,
    )
    .unwrap();
    assert_eq!(folder.preprocessing.class_names.len(), 10);
    let all =
        |d: &Dataset| -> (Tensor, Tensor) { d.gather(&(0..d.len()).collect::<Vec<_>>()).unwrap() };
    assert_eq!(
        all(&folder.train),
        all(&builtin.train),
        "same samples, same order"
    );
    assert_eq!(all(&folder.valid), all(&builtin.valid));

    let a = train(graph(&dir, ""), builtin);
    let b = train(graph(&dir, ""), folder);
    assert_eq!(a.len(), 3);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.train_loss, y.train_loss);
        assert_eq!(x.valid.loss, y.valid.loss);
        assert_eq!(x.valid.accuracy, y.valid.accuracy);
        println!(
            "epoch {}: train loss {:.4}, valid loss {:.4}, valid accuracy {:?} (mnist: and images: alike)",
            x.epoch, x.train_loss, x.valid.loss, x.valid.accuracy
        );
    }
    let acc = b.last().unwrap().valid.accuracy.unwrap();
    assert!(acc > 0.6, "400 digits, 3 epochs: {acc}");
}

/// Ten 28×28 digits-like images per class for two classes (bars at different heights).
fn bars(root: &Path) {
    for (c, row) in [("high", 6u32), ("low", 20)] {
        for i in 0..10u32 {
            let img = GrayImage::from_fn(28, 28, |x, y| {
                Luma([if y.abs_diff(row) < 3 && x > i {
                    230
                } else {
                    10
                }])
            });
            let p = root.join(c);
            std::fs::create_dir_all(&p).unwrap();
            img.save(p.join(format!("{i}.png"))).unwrap();
        }
    }
}

/// With `augment` in the graph, training batches change but validation does not: the
/// trainers' first validation (before any step, same initial weights) is identical, and
/// evaluation of the training split is too.
#[test]
fn augmentation_changes_training_batches_only() {
    let dir = temp_dir("augment");
    let root = dir.join("bars");
    bars(&root);
    let spec = format!("images:{}", root.display());
    let aug = ", augment: (crop_padding: 4, hflip: true, rotate_degrees: 10.0, \
               jitter: (brightness: 0.2, contrast: 0.2), erase: 0.25)";
    let trainer = |augment: &str| {
        Trainer::new(
            graph(&dir, augment),
            data::load(&spec, 0).unwrap(),
            TrainOptions::default(),
        )
        .unwrap()
    };
    let (mut plain, mut augmented) = (trainer(""), trainer(aug));
    for part in [plain.valid_set().clone(), plain.train_set().clone()] {
        let part = std::sync::Arc::new(part);
        assert_eq!(
            plain.evaluate(&part).unwrap(),
            augmented.evaluate(&part).unwrap()
        );
    }
    let loss = |t: &mut Trainer| match t.step().unwrap() {
        Event::Step(s) => s.outcome.loss,
        e => panic!("{e:?}"),
    };
    assert_ne!(loss(&mut plain), loss(&mut augmented), "augmented batch");
    // Same seed, same augmented batches.
    assert_eq!(loss(&mut trainer(aug)), {
        let mut again = trainer(aug);
        loss(&mut again)
    });
    // In-memory images (the built-in shapes) with augment are refused, naming the setting.
    let shapes = data::load("shapes:train=8,valid=8", 0).unwrap();
    let e = Trainer::new(graph(&dir, aug), shapes, TrainOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("training.augment") && e.contains("images:DIR"),
        "{e}"
    );
}
