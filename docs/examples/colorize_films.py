from colorgan.inference.colorizer import Colorizer
from colorgan.inference.temporal import Smoothing

colorizer = Colorizer.from_checkpoint("last.ckpt")
result = colorizer.colorize_video("family_film.mp4", "coloured/family_film.mp4")  # smoothing=Smoothing(), crf=18
print(result.frames, result.rate, result.cuts, result.notes)
colorizer.colorize_video("film.mkv", "film_raw.mkv", smoothing=Smoothing(strength=0))  # frame by frame
colorizer.colorize_video("vhs.mkv", "vhs_colour.mov", deinterlace=True, codec="prores")  # progressive ProRes
