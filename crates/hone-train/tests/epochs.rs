//! The training loop reads each epoch in the order the task draws for that
//! epoch: a toy regression task records which batches the loop asks for,
//! and every epoch must be exactly `epoch_batches(epoch)`, in order. (The
//! loop once reread epoch 0's order in every later epoch, which only a run
//! resumed past epoch 0 escaped.)

use std::cell::RefCell;

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Module};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use hone_train::{Metrics, RunOptions, TrainConfig, TrainTask, train};

type B = Autodiff<NdArray>;

#[derive(Module, Debug)]
struct Toy<B: Backend> {
    head: Linear<B>,
}

/// Eight points on a line; batches of two, rotated by the epoch so that
/// every epoch's order differs from the one before.
struct Rotating {
    asked: RefCell<Vec<(usize, Vec<usize>)>>,
}

const POINTS: usize = 8;

impl TrainTask<B> for Rotating {
    type Model = Toy<B>;
    type Batch = (Tensor<B, 2>, Tensor<B, 2>);

    fn epoch_batches(&self, epoch: usize) -> Vec<Vec<usize>> {
        let order: Vec<usize> = (0..POINTS).map(|i| (i + 3 * epoch) % POINTS).collect();
        order.chunks(2).map(<[usize]>::to_vec).collect()
    }

    fn batch(
        &self,
        indices: &[usize],
        epoch: usize,
        device: &burn::backend::ndarray::NdArrayDevice,
    ) -> hone_train::Result<Self::Batch> {
        self.asked.borrow_mut().push((epoch, indices.to_vec()));
        let x: Vec<f32> = indices.iter().map(|&i| i as f32 / 8.0).collect();
        let y: Vec<f32> = x.iter().map(|v| 2.0 * v + 1.0).collect();
        let n = indices.len();
        Ok((
            Tensor::<B, 1>::from_floats(x.as_slice(), device).reshape([n, 1]),
            Tensor::<B, 1>::from_floats(y.as_slice(), device).reshape([n, 1]),
        ))
    }

    fn tokens(&self, batch: &Self::Batch) -> usize {
        batch.0.dims()[0]
    }

    fn loss(&self, model: &Self::Model, (x, y): Self::Batch) -> Tensor<B, 1> {
        (model.head.forward(x) - y).powi_scalar(2).mean()
    }

    fn validate(
        &self,
        _model: &<Self::Model as AutodiffModule<B>>::InnerModule,
    ) -> hone_train::Result<Metrics> {
        Ok(Metrics::from([("score".to_string(), 0.0)]))
    }

    fn primary_metric(&self) -> &str {
        "score"
    }
}

#[test]
fn every_epoch_reads_the_batches_drawn_for_it() {
    let device = Default::default();
    B::seed(&device, 3);
    let task = Rotating {
        asked: RefCell::new(Vec::new()),
    };
    let model = Toy {
        head: LinearConfig::new(1, 1).init(&device),
    };
    let config = TrainConfig {
        epochs: 3,
        batch_size: 2,
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    train::<B, _>(
        &task,
        model,
        &config,
        dir.path(),
        &RunOptions::default(),
        &device,
    )
    .unwrap();

    let asked = task.asked.take();
    let expected: Vec<(usize, Vec<usize>)> = (0..3)
        .flat_map(|epoch| {
            task.epoch_batches(epoch)
                .into_iter()
                .map(move |b| (epoch, b))
        })
        .collect();
    assert_eq!(asked, expected);
}
