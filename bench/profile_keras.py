"""Where the Keras side spends its time (the counterpart of bench/profile.ts).

`.venv/bin/python bench/profile_keras.py`: the GAN iteration split into its phases, and the
autoencoders' per-batch time in fit (graph, tf.function) vs train_on_batch vs run_eagerly=True
(op-by-op eager execution, the way tfjs-node runs), on the same batches as bench/profile.ts.
"""
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.dont_write_bytecode = True  # importing keras_workloads must not leave bench/__pycache__ behind
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras_workloads as kw  # noqa: E402


def ms(seconds):
    return f"{seconds * 1000:.2f} ms"


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def autoencoder(name, x, batch, batches):
    data = x[: batch * batches]
    results = []
    for eager in (False, True):
        model = kw.build_conv_autoencoder() if name == "conv_ae" else kw.build_autoencoder_2d()
        if name == "conv_ae":
            model.compile(optimizer="adam", loss="binary_crossentropy", run_eagerly=eager)
        else:
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.00005), loss="mse", run_eagerly=eager)
        model.fit(data[: batch * 2], data[: batch * 2], batch_size=batch, epochs=1, verbose=0)
        fit = timed(lambda: model.fit(data, data, batch_size=batch, epochs=1, shuffle=True, verbose=0)) / batches
        tob = statistics.median(timed(lambda i=i: model.train_on_batch(data[i * batch:(i + 1) * batch], data[i * batch:(i + 1) * batch])) for i in range(batches))
        fwd = statistics.median(timed(lambda i=i: model.predict_on_batch(data[i * batch:(i + 1) * batch])) for i in range(batches))
        results.append(f"{'eager' if eager else 'graph'}: fit {ms(fit)}, train_on_batch {ms(tob)}, predict_on_batch {ms(fwd)}")
    print(f"keras {name} (batch {batch}) per batch: " + "; ".join(results))


def gan(x, iterations):
    g = kw.build_generator()
    d = kw.build_discriminator()
    d.compile(loss="binary_crossentropy", optimizer="adam")
    d.trainable = False
    z_in = keras.Input((100,))
    combined = keras.Model(z_in, d(g(z_in)))
    combined.compile(loss="binary_crossentropy", optimizer="adam")
    batch = 32
    valid, fake = np.ones((batch, 1)), np.zeros((batch, 1))
    rng = np.random.default_rng(1)
    phases = {"dReal": [], "noiseAndPredict": [], "dFake": [], "combined": []}
    for i in range(iterations + 3):
        imgs = x[rng.integers(0, x.shape[0], batch)]
        d.trainable = True
        t_real = timed(lambda: d.train_on_batch(imgs, valid))
        start = time.perf_counter()
        noise = rng.normal(0, 1, (batch, 100))
        gen = g.predict(noise, verbose=0)
        t_pred = time.perf_counter() - start
        t_fake = timed(lambda: d.train_on_batch(gen, fake))
        d.trainable = False
        t_comb = timed(lambda: combined.train_on_batch(noise, valid))
        if i >= 3:
            for k, v in zip(phases, (t_real, t_pred, t_fake, t_comb)):
                phases[k].append(v)
    print(f"keras gan phases (median of {iterations}): " + "; ".join(f"{k} {ms(statistics.median(v))}" for k, v in phases.items()))
    pob = statistics.median(timed(lambda: g.predict_on_batch(rng.normal(0, 1, (batch, 100)))) for _ in range(20))
    print(f"keras gan: generator.predict_on_batch {ms(pob)} (vs predict above)")


def main():
    intra = int(os.environ.get("TF_NUM_INTRAOP_THREADS", "0"))
    inter = int(os.environ.get("TF_NUM_INTEROP_THREADS", "0"))
    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    print(f"threads: intra {intra} inter {inter}")
    images = kw.load_test_images()
    x01 = (images.astype("float32") / 255.0).reshape(-1, 28, 28, 1)
    section = sys.argv[1] if len(sys.argv) > 1 else "all"
    if section in ("all", "ae"):
        autoencoder("conv_ae", x01, 128, 20)
        autoencoder("ae2d", x01, 32, 40)
    if section in ("all", "gan"):
        gan(x01 * 2 - 1, 20)


if __name__ == "__main__":
    main()
