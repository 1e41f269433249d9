from mic_core.cli import main

main()
