"""The model side: what is trained, how, and the integer layout every other layer reads.

- configuration, plain data (no torch): `config` (nets, methods, training), `bitmix`, `data`
  (the bundled data sets), `errors`;
- the contract, numpy only: `layout` (the layout file), `synthetic` (layouts made without
  training, for benchmarks);
- training in PyTorch: `sign`, `residual`, `allocation`, `proxconnect`, `activations`, `layers`,
  `nets`, `training` (reproducible to the bit: `reproducible`), `checkpoint`, `recipes`;
- from a trained net to integers: `export`, the integer `golden` model, `agreement`, `summary`;
- the papers' experiments: `experiments`.
"""
