"""Install tfgan_i2i: image-to-image translation GANs for Keras 3 / TensorFlow 2."""
from setuptools import find_namespace_packages, setup

setup(
    name="tfgan_i2i",
    version="0.1.0",
    description="Image-to-image translation GANs (pix2pix, BicycleGAN, MSGAN, ...) for Keras 3 / TensorFlow 2",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # namespace packages so the data folders under tfgan_i2i/sample_data are installed (and setuptools does not warn)
    packages=find_namespace_packages(include=["tfgan_i2i", "tfgan_i2i.*", "apps", "apps.*"],
                                     exclude=["*.__pycache__"]),
    package_data={"tfgan_i2i.sample_data": ["**/*"]},
    include_package_data=True,
    install_requires=[
        # tensorflow-cpu is enough on machines without a GPU; a GPU install of `tensorflow` also satisfies keras/tf imports.
        "tensorflow-cpu>=2.16; platform_machine=='x86_64' and sys_platform=='linux'",
        "tensorflow>=2.16; platform_machine!='x86_64' or sys_platform!='linux'",
        "keras>=3.0",
        "numpy",
        "pillow",
        "tensorboard",
        "tensorflow-datasets",
        "pyyaml",
        "tqdm",
        "scikit-learn",  # K-means bins of the NDB/JSD metric
        "scipy",  # resampling audio (resample_poly); already required by scikit-learn
        "soundfile",  # audio files: wav/flac/ogg/mp3 (tf.audio.decode_wav reads 16-bit PCM only)
        "ai-edge-litert",  # runs exported .tflite files (tf.lite.Interpreter is deprecated)
    ],
    extras_require={
        # the audio quality measures (tfgan_i2i.audio.metrics): pYIN pitch and onset strength, BS.1770 loudness
        "audio": ["librosa>=0.10", "pyloudnorm>=0.2"],
        "test": ["pytest>=7", "pytest-timeout", "hypothesis>=6", "librosa>=0.10", "pyloudnorm>=0.2",
                 "playwright>=1.40"],  # drives Debian's chromium in tests/test_demo_browser.py (no browser download)
        # `tfgan-i2i demo`: the local web page (Gradio 6 API: theme and css given to launch, buttons=...)
        "demo": ["gradio>=6.0,<7"],
        "bench": ["matplotlib>=3.7", "librosa>=0.10", "pyloudnorm>=0.2"],
    },
    entry_points={"console_scripts": ["tfgan-i2i=tfgan_i2i.cli:main",
                                    "tfgan-i2i-audio=apps.audio_translation.cli:main"]},
)
