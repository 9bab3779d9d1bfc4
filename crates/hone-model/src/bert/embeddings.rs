//! BERT embeddings: word + absolute position + token type, then LayerNorm
//! (and dropout while training).

use burn::module::Module;
use burn::nn::{Dropout, Embedding, LayerNorm};
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct BertEmbeddings<B: Backend> {
    pub word: Embedding<B>,
    pub position: Embedding<B>,
    pub token_type: Embedding<B>,
    pub layer_norm: LayerNorm<B>,
    pub dropout: Dropout,
}

impl<B: Backend> BertEmbeddings<B> {
    /// `[batch, seq_len]` ids → `[batch, seq_len, hidden]`.
    pub fn forward(
        &self,
        input_ids: Tensor<B, 2, Int>,
        token_type_ids: Tensor<B, 2, Int>,
    ) -> Tensor<B, 3> {
        let [batch, seq_len] = input_ids.dims();
        let device = input_ids.device();
        let positions = Tensor::<B, 1, Int>::arange(0..seq_len as i64, &device)
            .reshape([1, seq_len])
            .expand([batch, seq_len]);
        let summed = self.word.forward(input_ids)
            + self.position.forward(positions)
            + self.token_type.forward(token_type_ids);
        self.dropout.forward(self.layer_norm.forward(summed))
    }
}
