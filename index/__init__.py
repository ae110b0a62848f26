"""Embeddings, the vector index (faiss) and hybrid search. The only code that imports faiss,
onnxruntime or sentence_transformers."""
