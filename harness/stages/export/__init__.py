"""A distilled student out of the stage cache: ``write`` builds the exported folder (ONNX or
safetensors weights, tokenizer, labels), ``runtime`` loads one and predicts with onnxruntime
and tokenizers only (``distill_bench.load_student``; no torch), ``torch_model`` rebuilds a
``--format torch`` folder as the harness's own module."""
