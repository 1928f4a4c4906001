"""The Keras side of the benchmark: one workload, timed, in this (fresh) process.

Run by bench/run.ts as `.venv/bin/python bench/keras_workloads.py --workload gan ...`; prints ONE
JSON line on stdout (the harness parses it). The models follow /work/shared/SPEC.md A, B and D
and the book's Keras code: train_on_batch for the GAN loop, model.fit for the autoencoders.

Threads: TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS are set by the harness (the same values
go to the tfjs-node child); here they are also set through tf.config.threading, which must
happen before TensorFlow runs its first op.
"""
import argparse
import gzip
import json
import os
import platform
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

IMAGES_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mnist", "t10k-images-idx3-ubyte.gz")


def load_test_images():
    """The 10,000 embedded test images as uint8 [n, 28, 28] (IDX: 16-byte header, then pixels)."""
    with gzip.open(IMAGES_PATH, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    count = int.from_bytes(raw[4:8], "big")
    if magic != 2051:
        raise SystemExit(f"{IMAGES_PATH}: expected IDX image magic 2051, found {magic}")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 28, 28)


# --- SPEC A: DCGAN -------------------------------------------------------------------------

def build_generator(mixed=False):
    """mixed=True (under the mixed_bfloat16 policy): the final tanh as its own float32 layer, as
    Keras's mixed-precision guide advises for a model's output; the same maths otherwise."""
    if mixed:
        last = [layers.Conv2D(1, kernel_size=5, padding="same"), layers.Activation("tanh", dtype="float32")]
    else:
        last = [layers.Conv2D(1, kernel_size=5, padding="same", activation="tanh")]
    return keras.Sequential([
        keras.Input((100,)),
        layers.Dense(128 * 7 * 7),
        layers.LeakyReLU(negative_slope=0.2),
        layers.BatchNormalization(),
        layers.Reshape((7, 7, 128)),
        layers.UpSampling2D(),
        layers.Conv2D(64, kernel_size=5, padding="same"),
        layers.BatchNormalization(),
        layers.LeakyReLU(negative_slope=0.2),
        layers.UpSampling2D(),
        *last,
    ], name="generator")


def build_discriminator(mixed=False):
    """mixed=True: the final sigmoid as its own float32 layer (so the loss is computed in float32)."""
    if mixed:
        last = [layers.Dense(1), layers.Activation("sigmoid", dtype="float32")]
    else:
        last = [layers.Dense(1, activation="sigmoid")]
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, kernel_size=5, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Dropout(0.3),
        layers.Conv2D(128, kernel_size=5, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Dropout(0.3),
        layers.Flatten(),
        *last,
    ], name="discriminator")


def run_gan(args, images_u8, fast=False, mixed=False):
    """The book's gan_train; fast=True is Keras written for speed: predict_on_batch, which skips
    predict's per-call data pipeline (45.7 ms against 9.2 ms per call in bench/RESULTS.md);
    mixed=True builds and compiles the models under the mixed_bfloat16 policy."""
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    generator = build_generator(mixed)
    discriminator = build_discriminator(mixed)
    # The book's order: compile D, freeze it, build and compile the combined model.
    jit = getattr(args, "jit", False)  # XLA-compiled train steps (jit_compile), for Keras written for speed
    discriminator.compile(loss="binary_crossentropy", optimizer="adam", jit_compile=jit)
    discriminator.trainable = False
    noise_in = keras.Input((100,))
    gan = keras.Model(noise_in, discriminator(generator(noise_in)))
    gan.compile(loss="binary_crossentropy", optimizer="adam", jit_compile=jit)
    policy = describe_policy(generator, discriminator)
    keras.mixed_precision.set_global_policy("float32")
    # Keras 3 (unlike the Keras 2 the book was written for) reads `trainable` when a model's
    # train function is first traced, so the book's order would leave D untrained everywhere
    # ("The model does not have any trainable weights"). Toggling around the steps restores the
    # book's semantics (D learns in its own steps, is frozen in the combined one), so that the
    # Keras side does the same work as the project; a check with weight snapshots confirmed it.

    x_train = ((images_u8.astype("float32") - 127.5) / 127.5).reshape(-1, 28, 28, 1)
    batch = args.batch_size
    valid = np.ones((batch, 1))
    fake = np.zeros((batch, 1))
    rng = np.random.default_rng(args.seed)
    times = []
    losses = []
    for i in range(args.warmup + args.iterations):
        start = time.perf_counter()
        idx = rng.integers(0, x_train.shape[0], batch)
        imgs = x_train[idx]
        discriminator.trainable = True
        d_loss_real = discriminator.train_on_batch(imgs, valid)
        noise = rng.normal(0, 1, (batch, 100))
        gen_imgs = generator.predict_on_batch(noise) if fast else generator.predict(noise, verbose=0)
        d_loss_fake = discriminator.train_on_batch(gen_imgs, fake)
        d_loss = 0.5 * np.add(d_loss_real, d_loss_fake)
        discriminator.trainable = False
        g_loss = gan.train_on_batch(noise, valid)
        elapsed = time.perf_counter() - start
        if i >= args.warmup:
            times.append(elapsed)
            losses.append([float(d_loss), float(g_loss)])
    return {"unit": "s/iteration", "times": times, "lastLosses": losses[-1] if losses else None,
            "params": {"generator": generator.count_params(), "discriminator": discriminator.count_params()},
            "precision": policy}


def describe_policy(*models):
    """The policy the models were built under, with a hidden layer's compute dtype, the weights'
    dtype and the output dtype (float32 under mixed_bfloat16, from the float32 last activation)."""
    first = models[0]
    hidden = next(layer for layer in first.layers if layer.weights)
    return {
        "policy": keras.mixed_precision.global_policy().name,
        "hiddenComputeDtype": hidden.compute_dtype,
        "weightsDtype": str(hidden.weights[0].dtype),
        "outputDtypes": [str(m.outputs[0].dtype) for m in models],
    }


# --- SPEC B: convolutional autoencoder -----------------------------------------------------

def build_conv_autoencoder():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2, padding="same"),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2, padding="same"),
        layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.UpSampling2D(),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.UpSampling2D(),
        layers.Conv2D(16, 3, activation="relu"),
        layers.UpSampling2D(),
        layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
    ], name="conv_autoencoder")


# --- SPEC D: 2-D convolutional autoencoder -------------------------------------------------

def build_autoencoder_2d(mixed=False):
    """mixed=True: built and compiled under the mixed_bfloat16 policy, the final sigmoid in float32."""
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    enc_in = keras.Input((28, 28, 1))
    x = enc_in
    for filters, strides in zip([32, 64, 64, 64], [1, 2, 2, 1]):
        x = layers.Conv2D(filters, 3, strides=strides, padding="same")(x)
        x = layers.LeakyReLU()(x)
    shape_before = x.shape[1:]
    x = layers.Flatten()(x)
    code = layers.Dense(2)(x)
    encoder = keras.Model(enc_in, code, name="encoder")
    dec_in = keras.Input((2,))
    y = layers.Dense(int(np.prod(shape_before)))(dec_in)
    y = layers.Reshape(shape_before)(y)
    for i, (filters, strides) in enumerate(zip([64, 64, 32, 1], [1, 2, 2, 1])):
        y = layers.Conv2DTranspose(filters, 3, strides=strides, padding="same")(y)
        if i < 3:
            y = layers.LeakyReLU()(y)
        else:
            y = layers.Activation("sigmoid", dtype="float32")(y) if mixed else layers.Activation("sigmoid")(y)
    decoder = keras.Model(dec_in, y, name="decoder")
    model_in = keras.Input((28, 28, 1))
    model = keras.Model(model_in, decoder(encoder(model_in)), name="autoencoder")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.00005), loss="mse")
    info = describe_policy(encoder, decoder)
    keras.mixed_precision.set_global_policy("float32")
    return model, info


def run_epochs(args, images_u8, model, precision=None):
    x = (images_u8.astype("float32") / 255.0).reshape(-1, 28, 28, 1)
    if args.limit:
        x = x[: args.limit]
    batch = args.batch_size
    # Warm-up: a few full batches plus the epoch's last partial batch, so tf.function has traced
    # both batch shapes before timing starts.
    warm_count = batch * args.warmup_batches + (x.shape[0] % batch)
    model.fit(x[:warm_count], x[:warm_count], epochs=1, batch_size=batch, shuffle=True, verbose=0)
    times = []
    losses = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        history = model.fit(x, x, epochs=1, batch_size=batch, shuffle=True, verbose=0)
        times.append(time.perf_counter() - start)
        losses.append(float(history.history["loss"][-1]))
    return {"unit": "s/epoch", "times": times, "lastLosses": losses[-1:], "params": {"model": model.count_params()},
            "samples": int(x.shape[0]), "precision": precision}


def cpu_bfloat16_flags():
    """avx512_bf16 / amx_bf16 from /proc/cpuinfo, as lib/graph/precision.ts reads them."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return [flag for flag in line.split(":", 1)[1].split() if flag in ("avx512_bf16", "amx_bf16")]
    except OSError:
        pass
    return []


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", required=True, choices=["gan", "gan_fast", "gan_bf16", "conv_ae", "ae2d", "ae2d_bf16"])
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=5, help="GAN warm-up iterations")
    parser.add_argument("--iterations", type=int, default=50, help="GAN timed iterations")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs (autoencoders)")
    parser.add_argument("--warmup-batches", type=int, default=5, help="full warm-up batches (autoencoders)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N images (0: all)")
    parser.add_argument("--intra", type=int, required=True)
    parser.add_argument("--inter", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jit", action="store_true", help="compile the GAN's train steps with XLA (jit_compile=True)")
    args = parser.parse_args()

    tf.config.threading.set_intra_op_parallelism_threads(args.intra)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter)
    keras.utils.set_random_seed(args.seed)
    images = load_test_images()

    if args.workload in ("gan", "gan_fast", "gan_bf16"):
        # gan_bf16: Keras written for speed (as gan_fast) under mixed_bfloat16, beside 01's loop in bfloat16.
        result = run_gan(args, images, fast=args.workload != "gan", mixed=args.workload == "gan_bf16")
    elif args.workload == "conv_ae":
        model = build_conv_autoencoder()
        model.compile(optimizer="adam", loss="binary_crossentropy")
        result = run_epochs(args, images, model)
    else:
        model, precision = build_autoencoder_2d(mixed=args.workload == "ae2d_bf16")
        result = run_epochs(args, images, model, precision)

    result.update({
        "side": "keras",
        "workload": args.workload,
        "batchSize": args.batch_size,
        # KiB on Linux.
        "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "threads": {
            "intraOp": tf.config.threading.get_intra_op_parallelism_threads(),
            "interOp": tf.config.threading.get_inter_op_parallelism_threads(),
            "osThreadsAtEnd": len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None,
        },
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        },
        "bfloat16Instructions": cpu_bfloat16_flags(),
    })
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
