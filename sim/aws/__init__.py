"""Local stand-ins for the AWS services the robot and its Lambdas talk to."""
