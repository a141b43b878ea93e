"""SageMaker pipeline definitions and the scripts their jobs run."""
