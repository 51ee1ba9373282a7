print("hello from the Layer Lens sample")
