//! The registry: the [`Op`] enum graph files name, one line per op.

use crate::ops::schema::{Describe, OpSchema};
use crate::ops::{Category, Layer};
use crate::ops::{
    activation, attention, conv, dense, loss, merge, norm, pool, recurrent, reduce, regularization,
    shape,
};
use serde::{Deserialize, Serialize};

/// The schema of op type `T`, registered as `name` in `category`.
const fn op_schema<T: Describe>(name: &'static str, category: Category) -> OpSchema {
    OpSchema {
        name,
        category,
        doc: T::DOC,
        fields: T::FIELDS,
    }
}

macro_rules! registry {
    ($( $variant:ident = $name:literal : $ty:ty, $cat:ident; )*) => {
        /// Every op, with its config. This is what a graph file names.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub enum Op {
            $( #[serde(rename = $name)] $variant($ty), )*
        }

        impl Op {
            /// The op's behaviour.
            pub fn layer(&self) -> &dyn Layer {
                match self { $( Op::$variant(c) => c, )* }
            }

            /// The name users write in graph files (PyTorch's class name).
            pub fn kind(&self) -> &'static str {
                match self { $( Op::$variant(_) => $name, )* }
            }

            pub fn category(&self) -> Category {
                match self { $( Op::$variant(_) => Category::$cat, )* }
            }

            /// One instance of every op with a default config (the editor's palette).
            /// Required fields hold placeholder values here; [`schema`] says which.
            pub fn all_defaults() -> Vec<Op> {
                vec![ $( Op::$variant(<$ty>::default()), )* ]
            }

            /// This op's schema.
            pub fn schema(&self) -> &'static OpSchema {
                match self {
                    $( Op::$variant(_) => const { &op_schema::<$ty>($name, Category::$cat) }, )*
                }
            }
        }

        /// Every op's name, category, doc and config fields, in registry order.
        pub fn schema() -> &'static [OpSchema] {
            const ALL: &[OpSchema] = &[ $( op_schema::<$ty>($name, Category::$cat), )* ];
            ALL
        }
    };
}

registry! {
    Linear = "Linear": dense::Linear, Dense;
    Embedding = "Embedding": dense::Embedding, Dense;
    Conv2d = "Conv2d": conv::Conv2d, Convolution;
    ConvTranspose2d = "ConvTranspose2d": conv::ConvTranspose2d, Convolution;
    MaxPool2d = "MaxPool2d": pool::MaxPool2d, Pooling;
    AvgPool2d = "AvgPool2d": pool::AvgPool2d, Pooling;
    AdaptiveAvgPool2d = "AdaptiveAvgPool2d": pool::AdaptiveAvgPool2d, Pooling;
    BatchNorm1d = "BatchNorm1d": norm::BatchNorm1d, Normalization;
    BatchNorm2d = "BatchNorm2d": norm::BatchNorm2d, Normalization;
    LayerNorm = "LayerNorm": norm::LayerNorm, Normalization;
    Dropout = "Dropout": regularization::Dropout, Regularization;
    Reparameterize = "Reparameterize": regularization::Reparameterize, Regularization;
    Lstm = "LSTM": recurrent::Lstm, Recurrent;
    Gru = "GRU": recurrent::Gru, Recurrent;
    Rnn = "RNN": recurrent::Rnn, Recurrent;
    MultiheadAttention = "MultiheadAttention": attention::MultiheadAttention, Attention;
    TransformerEncoderLayer = "TransformerEncoderLayer": attention::TransformerEncoderLayer, Attention;
    PositionalEmbedding = "PositionalEmbedding": attention::PositionalEmbedding, Attention;
    Relu = "ReLU": activation::Relu, Activation;
    LeakyRelu = "LeakyReLU": activation::LeakyRelu, Activation;
    Elu = "ELU": activation::Elu, Activation;
    Gelu = "GELU": activation::Gelu, Activation;
    Silu = "SiLU": activation::Silu, Activation;
    Sigmoid = "Sigmoid": activation::Sigmoid, Activation;
    Tanh = "Tanh": activation::Tanh, Activation;
    Softmax = "Softmax": activation::Softmax, Activation;
    LogSoftmax = "LogSoftmax": activation::LogSoftmax, Activation;
    Flatten = "Flatten": shape::Flatten, Shape;
    Reshape = "Reshape": shape::Reshape, Shape;
    PixelShuffle = "PixelShuffle": shape::PixelShuffle, Shape;
    Upsample = "Upsample": shape::Upsample, Shape;
    Detach = "Detach": shape::Detach, Shape;
    Select = "Select": shape::Select, Shape;
    Slice = "Slice": shape::Slice, Shape;
    Transpose = "Transpose": shape::Transpose, Shape;
    Permute = "Permute": shape::Permute, Shape;
    Sum = "Sum": reduce::Sum, Shape;
    Mean = "Mean": reduce::Mean, Shape;
    Add = "Add": merge::Add, Merge;
    Mul = "Mul": merge::Mul, Merge;
    Concat = "Concat": merge::Concat, Merge;
    MseLoss = "MSELoss": loss::MseLoss, Loss;
    L1Loss = "L1Loss": loss::L1Loss, Loss;
    SmoothL1Loss = "SmoothL1Loss": loss::SmoothL1Loss, Loss;
    CrossEntropyLoss = "CrossEntropyLoss": loss::CrossEntropyLoss, Loss;
    BceLoss = "BCELoss": loss::BceLoss, Loss;
    BceWithLogitsLoss = "BCEWithLogitsLoss": loss::BceWithLogitsLoss, Loss;
    GaussianKlLoss = "GaussianKLLoss": loss::GaussianKlLoss, Loss;
}
