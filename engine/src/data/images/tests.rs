//! Image folders built by each test in the temp dir with the `image` crate.

use super::*;
use crate::data::{Loader, LoaderOptions, Part, load};
use crate::graph::{Augment, Jitter};
use image::{GrayImage, Luma, Rgb, RgbImage};

/// A fresh, empty folder for one test.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hyphae-images-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A `w`×`h` grey PNG at `dir/rel` whose pixel (x, y) is `f(x, y)`.
fn gray(dir: &Path, rel: &str, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    GrayImage::from_fn(w, h, |x, y| Luma([f(x, y)]))
        .save(&p)
        .unwrap();
}

fn rgb(dir: &Path, rel: &str, w: u32, h: u32, px: [u8; 3]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    RgbImage::from_pixel(w, h, Rgb(px)).save(&p).unwrap();
}

fn spec(dir: &Path, opts: &str) -> String {
    if opts.is_empty() {
        format!("images:{}", dir.display())
    } else {
        format!("images:{}:{opts}", dir.display())
    }
}

fn err(dir: &Path, opts: &str) -> String {
    load(&spec(dir, opts), 0).unwrap_err().to_string()
}

/// Every sample of a split (train then valid) with its label, pixels as loaded.
fn samples(s: &Split) -> Vec<(Vec<f32>, usize)> {
    let all = s.part(Part::All).unwrap();
    let idx: Vec<usize> = (0..all.len()).collect();
    let (x, y) = all.gather(&idx).unwrap();
    let per = x.numel() / all.len();
    x.data()
        .chunks(per)
        .zip(y.data())
        .map(|(p, &c)| (p.to_vec(), c as usize))
        .collect()
}

/// Three classes (folder names out of order), three images each, pixel value = 10·class;
/// plus files that are not images.
fn three_classes(name: &str) -> PathBuf {
    let dir = folder(name);
    for (name, v) in [("zebra", 30u8), ("ant", 10), ("mole", 20)] {
        for i in 0..3 {
            gray(&dir, &format!("{name}/{i}.png"), 4, 3, |_, _| v);
        }
        std::fs::write(dir.join(name).join("notes.txt"), "not an image").unwrap();
    }
    std::fs::write(dir.join(".DS_Store"), "junk").unwrap();
    dir
}

#[test]
fn classes_are_sorted_folder_names_and_labels_follow_files() {
    let dir = three_classes("layout");
    let s = load(&spec(&dir, "normalize=false"), 0).unwrap();
    assert_eq!(s.preprocessing.class_names, ["ant", "mole", "zebra"]);
    assert_eq!((s.train.len(), s.valid.len()), (7, 2), "80/20 cut");
    assert_eq!(s.train.sample_shape(), &[1, 3, 4]);
    assert_eq!(s.train.num_classes, Some(3));
    let all = samples(&s);
    assert_eq!(all.len(), 9);
    for (px, c) in &all {
        let want = 10.0 * (*c as f32 + 1.0) / 255.0;
        assert!(px.iter().all(|v| (v - want).abs() < 1e-6), "{c}: {px:?}");
    }
    assert!(s.preprocessing.mean.is_empty(), "normalize=false");
    // The note says where size and channels came from.
    assert!(s.notes.iter().any(|n| n.contains("3×4")), "{:?}", s.notes);
    assert!(s.notes.iter().any(|n| n.contains("channels=gray")));
    // The split is seeded: same seed, same split; another seed, another.
    let again = load(&spec(&dir, "normalize=false"), 0).unwrap();
    assert_eq!(samples(&again), all);
}

#[test]
fn train_and_val_folders_give_the_split() {
    let dir = folder("trainval");
    for (split, n) in [("train", 4), ("val", 2)] {
        for c in ["cat", "dog"] {
            for i in 0..n {
                gray(&dir, &format!("{split}/{c}/{i}.png"), 2, 2, |_, _| 0);
            }
        }
    }
    let s = load(&spec(&dir, ""), 5).unwrap();
    assert_eq!((s.train.len(), s.valid.len()), (8, 4));
    assert_eq!(s.preprocessing.class_names, ["cat", "dog"]);
    assert_eq!(s.valid.labels.data(), &[0.0, 0.0, 1.0, 1.0]);
    let Features::Images(v) = &s.valid.features else {
        panic!("streamed")
    };
    assert!(v.file(0).unwrap().ends_with("val/cat/0.png"));
    // A validation class that training does not have.
    gray(&dir, "val/emu/0.png", 2, 2, |_, _| 0);
    let e = err(&dir, "");
    assert!(e.contains("val/emu") && e.contains("cat, dog"), "{e}");
    // val without train.
    std::fs::rename(dir.join("train"), dir.join("training")).unwrap();
    let e = err(&dir, "");
    assert!(e.contains("without `train`"), "{e}");
}

#[test]
fn folders_without_usable_classes_are_clear_errors() {
    let e = load("images:/no/such/folder", 0).unwrap_err().to_string();
    assert!(
        e.contains("/no/such/folder") && e.contains("not found"),
        "{e}"
    );
    let dir = folder("empty");
    assert!(err(&dir, "").contains("no class folders"), "empty folder");
    gray(&dir, "loose.png", 2, 2, |_, _| 0);
    let e = err(&dir, "");
    assert!(e.contains("1 image(s) but no class folders"), "{e}");
    gray(&dir, "only/a.png", 2, 2, |_, _| 0);
    let e = err(&dir, "");
    assert!(e.contains("one class folder (`only`)"), "{e}");
    std::fs::create_dir_all(dir.join("blank")).unwrap();
    let e = err(&dir, "");
    assert!(e.contains("blank") && e.contains("has no images"), "{e}");
    let e = load("images:", 0).unwrap_err().to_string();
    assert!(e.contains("images:DIR"), "{e}");
}

#[test]
fn sizes_must_match_unless_resized() {
    let dir = folder("sizes");
    for c in ["a", "b"] {
        gray(&dir, &format!("{c}/0.png"), 6, 4, |x, _| (x * 40) as u8);
    }
    gray(&dir, "b/1.png", 5, 5, |_, _| 7);
    let s = load(&spec(&dir, "normalize=false"), 0).unwrap();
    let all = s.part(Part::All).unwrap();
    let e = all.gather(&[0, 1, 2]).unwrap_err().to_string();
    assert!(
        e.contains("b/1.png") && e.contains("5×5") && e.contains("size=4x6"),
        "{e}"
    );
    let s = load(&spec(&dir, "size=2x3,normalize=false"), 0).unwrap();
    assert_eq!(s.train.sample_shape(), &[1, 2, 3]);
    assert_eq!(samples(&s).len(), 3);
}

#[test]
fn channels_gray_and_rgb() {
    let dir = folder("channels");
    rgb(&dir, "red/0.png", 3, 2, [255, 0, 0]);
    rgb(&dir, "red/1.png", 3, 2, [255, 0, 0]);
    rgb(&dir, "blue/0.png", 3, 2, [0, 0, 255]);
    let s = load(&spec(&dir, "normalize=false"), 0).unwrap();
    assert_eq!(
        s.train.sample_shape(),
        &[3, 2, 3],
        "rgb from the first image"
    );
    for (px, c) in samples(&s) {
        // Channel planes: red is plane 0, blue plane 2 (class 0 = blue, 1 = red).
        let plane = |k: usize| px[k * 6..(k + 1) * 6].iter().sum::<f32>() / 6.0;
        let want = if c == 0 {
            [0.0, 0.0, 1.0]
        } else {
            [1.0, 0.0, 0.0]
        };
        assert_eq!([plane(0), plane(1), plane(2)], want);
    }
    let s = load(&spec(&dir, "channels=gray,normalize=false"), 0).unwrap();
    assert_eq!(s.train.sample_shape(), &[1, 2, 3]);
    // Grey images as RGB: three equal planes.
    let g = folder("gray-as-rgb");
    gray(&g, "a/0.png", 2, 2, |_, _| 51);
    gray(&g, "b/0.png", 2, 2, |_, _| 102);
    let s = load(&spec(&g, "channels=rgb,normalize=false"), 0).unwrap();
    for (px, c) in samples(&s) {
        let v = if c == 0 { 0.2 } else { 0.4 };
        assert!(px.len() == 12 && px.iter().all(|x| (x - v).abs() < 1e-6));
    }
}

#[test]
fn normalisation_uses_training_statistics_and_is_stored() {
    let dir = folder("norm");
    for i in 0..5 {
        gray(&dir, &format!("train/a/{i}.png"), 2, 2, |_, _| 0);
        gray(&dir, &format!("train/b/{i}.png"), 2, 2, |_, _| 255);
    }
    gray(&dir, "val/a/0.png", 2, 2, |_, _| 51);
    gray(&dir, "val/b/0.png", 2, 2, |_, _| 255);
    let s = load(&spec(&dir, ""), 0).unwrap();
    // Training pixels: half 0, half 1 → mean 0.5, std 0.5; validation is not counted.
    assert_eq!(s.preprocessing.mean, [0.5]);
    assert_eq!(s.preprocessing.std, [0.5]);
    let (x, _) = s.valid.gather(&[0, 1]).unwrap();
    let want = (0.2f32 - 0.5) / 0.5;
    assert!((x.data()[0] - want).abs() < 1e-6 && x.data()[4] == 1.0);
    // Given constants, like torchvision's Normalize.
    let s = load(&spec(&dir, "mean=0.1307,std=0.3081"), 0).unwrap();
    assert_eq!(
        (s.preprocessing.mean[0], s.preprocessing.std[0]),
        (0.1307, 0.3081)
    );
    let e = err(&dir, "mean=0.5/0.5/0.5,std=1/1/1");
    assert!(
        e.contains("3 normalisation value(s) for 1 channel(s)"),
        "{e}"
    );
}

#[test]
fn corrupt_and_truncated_images_are_named() {
    let dir = folder("corrupt");
    for i in 0..3 {
        gray(&dir, &format!("a/{i}.png"), 4, 4, |_, _| 9);
        gray(&dir, &format!("b/{i}.png"), 4, 4, |_, _| 9);
    }
    std::fs::write(dir.join("b/bad.png"), b"\x89PNG\r\n\x1a\n garbage").unwrap();
    // Loading decodes the training split for its statistics: the error comes then, or
    // (the file drawn into validation) when a batch needs it.
    let e = match load(&spec(&dir, ""), 0) {
        Err(e) => e.to_string(),
        Ok(s) => {
            let all = s.part(Part::All).unwrap();
            let idx: Vec<usize> = (0..all.len()).collect();
            all.gather(&idx).unwrap_err().to_string()
        }
    };
    assert!(
        e.contains("b/bad.png") && e.contains("not a readable"),
        "{e}"
    );
    std::fs::remove_file(dir.join("b/bad.png")).unwrap();
    let good = std::fs::read(dir.join("a/0.png")).unwrap();
    std::fs::write(dir.join("a/3.png"), &good[..good.len() / 2]).unwrap();
    // Not decoded while loading (statistics off): the batch that needs it fails, naming it.
    let s = load(&spec(&dir, "normalize=false"), 0).unwrap();
    let all = s.part(Part::All).unwrap();
    let idx: Vec<usize> = (0..all.len()).collect();
    let e = all.gather(&idx).unwrap_err().to_string();
    assert!(e.contains("a/3.png"), "{e}");
    // ... and through the loader, as an error item that ends the epoch.
    let l = Loader::new(Arc::new(all), LoaderOptions::evaluation(2)).unwrap();
    let items: Vec<_> = l.epoch(0).collect();
    assert!(items.iter().any(|b| b.is_err()));
    assert!(items.last().unwrap().is_err(), "nothing after the error");
}

fn augment() -> Augment {
    Augment {
        crop_padding: 2,
        hflip: true,
        rotate_degrees: 15.0,
        jitter: Some(Jitter {
            brightness: 0.3,
            contrast: 0.3,
        }),
        erase: 0.5,
    }
}

/// A 12-image two-class set of 8×8 gradients.
fn gradients(name: &str, opts: &str) -> Split {
    let dir = folder(name);
    for i in 0..6u32 {
        gray(&dir, &format!("a/{i}.png"), 8, 8, |x, y| {
            (x * 20 + y * 3 + i) as u8
        });
        gray(&dir, &format!("b/{i}.png"), 8, 8, |x, y| {
            (200 - x * 10 - y * i) as u8
        });
    }
    load(&spec(&dir, opts), 0).unwrap()
}

fn batches(data: &Dataset, opts: LoaderOptions, epoch: u64) -> Vec<Vec<f32>> {
    Loader::new(Arc::new(data.clone()), opts)
        .unwrap()
        .epoch(epoch)
        .map(|b| b.unwrap().0.into_vec())
        .collect()
}

#[test]
fn augmentation_is_deterministic_and_training_only() {
    let s = gradients("augment", "workers=1");
    let opts = |seed| LoaderOptions {
        batch_size: 4,
        seed,
        augment: Some(augment()),
        ..LoaderOptions::default()
    };
    let a = batches(&s.train, opts(3), 0);
    assert_eq!(a, batches(&s.train, opts(3), 0), "same seed, same batches");
    assert_ne!(a, batches(&s.train, opts(4), 0), "another seed");
    assert_ne!(a, batches(&s.train, opts(3), 1), "another epoch");
    let plain = LoaderOptions {
        augment: None,
        ..opts(3)
    };
    assert_ne!(a, batches(&s.train, plain.clone(), 0), "augmented");
    // The same with 3 decoding workers.
    let s3 = gradients("augment3", "workers=3");
    assert_eq!(a, batches(&s3.train, opts(3), 0), "independent of workers");
    // Evaluation batches are the images as they are.
    let eval = batches(&s.train, LoaderOptions::evaluation(64), 0);
    let idx: Vec<usize> = (0..s.train.len()).collect();
    assert_eq!(eval[0], s.train.gather(&idx).unwrap().0.into_vec());
    // Augmentation needs image files.
    let xor = load("xor", 0).unwrap();
    let e = Loader::new(Arc::new(xor.train), opts(0)).unwrap_err();
    assert!(e.to_string().contains("training.augment"), "{e}");
}

#[test]
fn the_cache_stays_under_its_cap() {
    // 8×8 grey images are 64 bytes; 0.0003 MB = 314 bytes holds 4 of the 12.
    let small = gradients("cache", "cache=0.0003,workers=2");
    let none = gradients("nocache", "cache=0");
    let full = gradients("fullcache", "");
    let opts = LoaderOptions {
        batch_size: 5,
        ..LoaderOptions::default()
    };
    let usage = |s: &Split| match &s.train.features {
        Features::Images(l) => l.cache_usage(),
        Features::Memory(_) => unreachable!(),
    };
    let want = batches(&full.train, opts.clone(), 0);
    for epoch in 0..2 {
        assert_eq!(batches(&small.train, opts.clone(), epoch).len(), 2);
        assert_eq!(batches(&none.train, opts.clone(), 0), want);
    }
    assert_eq!(batches(&small.train, opts.clone(), 0), want);
    let (bytes, images, cap) = usage(&small);
    assert_eq!(cap, 314);
    assert!(
        bytes <= cap && images == 4,
        "{bytes} bytes, {images} images"
    );
    assert_eq!(usage(&none).0, 0);
    assert_eq!(usage(&full).1, full.train.len(), "every decoded image kept");
}

#[test]
fn predict_inputs_are_resized_and_normalised() {
    let dir = folder("predict");
    gray(&dir, "x/1.png", 4, 4, |_, _| 255);
    rgb(&dir, "0.jpg", 8, 8, [0, 0, 0]);
    std::fs::write(dir.join("readme.txt"), "no").unwrap();
    let p = Preprocessing {
        mean: vec![0.5],
        std: vec![0.5],
        ..Preprocessing::default()
    };
    let (x, files) = read_inputs(&dir, &[1, 2, 2], Some(&p)).unwrap();
    assert_eq!(x.shape(), &[2, 1, 2, 2]);
    assert!(files[0].ends_with("0.jpg") && files[1].ends_with("x/1.png"));
    assert_eq!(x.data(), &[-1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]);
    let e = read_inputs(&dir, &[4], None).unwrap_err().to_string();
    assert!(e.contains("[C, H, W]"), "{e}");
}

#[test]
fn a_separate_folder_is_read_with_the_models_classes_and_statistics() {
    let dir = three_classes("fitted-train");
    let trained = load(&spec(&dir, "size=2x2"), 0).unwrap();
    let mut p = trained.preprocessing.clone();
    p.spec = spec(&dir, "size=2x2");
    // One class folder is enough here; its label is the model's index for that name.
    let test = folder("fitted-test");
    gray(&test, "zebra/0.png", 5, 5, |_, _| 30);
    gray(&test, "zebra/1.png", 5, 5, |_, _| 31);
    let s = crate::data::load_fitted(&spec(&test, ""), 0, Some(&p)).unwrap();
    assert_eq!(
        s.train.sample_shape(),
        &[1, 2, 2],
        "size= from the model's spec"
    );
    assert_eq!(s.preprocessing.mean, trained.preprocessing.mean);
    let all = s.part(Part::All).unwrap();
    assert_eq!(all.labels.data(), &[2.0, 2.0]);
    assert_eq!(all.num_classes, Some(3));
    gray(&test, "emu/0.png", 5, 5, |_, _| 0);
    let e = crate::data::load_fitted(&spec(&test, ""), 0, Some(&p))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`emu`") && e.contains("ant, mole, zebra"), "{e}");
}
