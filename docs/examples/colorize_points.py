from colorgan.inference.colorizer import Colorizer

colorizer = Colorizer.from_checkpoint("hinted.ckpt")  # a model trained with model.hints.enabled=true
colour = colorizer("photo.jpg", hints="hints.json")  # or a list of points:
colour = colorizer("photo.jpg", hints=[{"x": 120, "y": 80, "color": "#2a5caa", "size": 5}])
