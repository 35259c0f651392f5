from colorgan.inference.colorizer import Colorizer

# a training checkpoint (e.g. logs/demo/runs/<time>/checkpoints/last.ckpt) or a `colorgan-export --format weights` file
colorizer = Colorizer.from_checkpoint("last.ckpt")  # device="auto", size=None
colour = colorizer("grandma.jpg")  # a path, a PIL image, or a NumPy array (H, W) / (H, W, 1-4)
colour.save("grandma_colour.png")  # a PIL image, the input's size; RGBA when the input had transparency

results = colorizer.colorize_batch(["a.jpg", "b.png"])  # one generator run; failures come back as .error
