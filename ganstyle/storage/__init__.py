"""The model folder on disk and on the Hugging Face Hub: its format (model_index.json plus
one folder per component), finding a folder or a Hub repo, and the model card."""
