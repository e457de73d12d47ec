"""The chapter's side roads, built on the core: backpropagation through time in NumPy
(``bptt_numpy``), Gluon LSTM/GRU cells counting ones (``cells``), IMDb sentiment with a
bidirectional LSTM (``sentiment``), and restoring phrase breaks, a task where bidirectional
RNNs honestly help (``breaks``)."""
