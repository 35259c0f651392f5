from colorgan.benchmark.run import main

main()
