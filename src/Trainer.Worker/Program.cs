Console.WriteLine("Trainer.Worker");
