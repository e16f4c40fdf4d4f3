import sys

from robot.producer.run import main

sys.exit(main())
