"""Running Estimators: RunConfig/TPU, progress, tf.distribute, output files, atomic writes."""
